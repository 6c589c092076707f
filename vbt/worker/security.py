"""ASGI middleware in front of every endpoint: the bearer token and the body size limit.

Both answer before the application sees the request: 401 without the right token (every path
but ``/health``, compared in constant time; a client in a trusted network needs none), 413 for a body over the limit (by its
Content-Length, or counted as it streams in).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

OPEN_PATHS = frozenset({"/health"})


async def _reply(send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *(headers or [])],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Token check and body limit around ``app``."""

    def __init__(self, app: Any, *, token: str | None, max_body_bytes: int,
                 trusted_networks: tuple[str, ...] = ()):  # fmt: skip
        self.app = app
        self.token = f"Bearer {token}".encode() if token else None
        self.max_body = max_body_bytes
        self.trusted = tuple(ipaddress.ip_network(n) for n in trusted_networks)

    def _trusted(self, scope) -> bool:
        client = scope.get("client")
        if not self.trusted or not client:
            return False
        try:
            addr = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.trusted)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if (self.token is not None and scope.get("path") not in OPEN_PATHS
                and not self._trusted(scope)):  # fmt: skip
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.token):
                return await _reply(send, 401, "missing or wrong bearer token",
                                    [(b"www-authenticate", b"Bearer")])  # fmt: skip
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                return await _reply(send, 400, "Content-Length is not a number")
            if too_big:
                return await _reply(send, 413, f"request body over {self.max_body} bytes")
            return await self.app(scope, receive, send)
        # no length (chunked): read it all, bounded, then replay it to the app
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message], receive), send)
            size += len(message.get("body", b""))
            if size > self.max_body:
                return await _reply(send, 413, f"request body over {self.max_body} bytes")
            chunks.append(message)
            more = message.get("more_body", False)
        return await self.app(scope, _replay(chunks, receive), send)


def _replay(messages: list[dict], receive):
    """A ``receive`` that hands out ``messages``, then the real one (for the disconnect)."""
    queue = list(messages)

    async def replayed():
        return queue.pop(0) if queue else await receive()

    return replayed
