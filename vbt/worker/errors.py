"""RequestError: a refused request, with its HTTP status and the field at fault."""

from __future__ import annotations


class RequestError(Exception):
    """A request the worker refuses: ``status`` (4xx, or 503 when the queue is full), ``field``
    (the request field at fault, or None) and a one-line ``message``."""

    def __init__(self, status: int, field: str | None, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.field = field
        self.message = message

    def detail(self) -> list[dict]:
        """FastAPI's 422 ``detail`` shape, so clients read every refusal the same way."""
        loc = ["body", self.field] if self.field else ["body"]
        return [{"loc": loc, "msg": self.message, "type": "request_error"}]
