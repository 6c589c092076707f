"""Reading a written report back: its tags and attributes, its style, its scripts, the figures'
JSON and the rows of its tables (stdlib ``html.parser``; nothing from vbt)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Parsed:
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    #: every <tr> with data-* attributes: its attributes and its cells' text
    rows: list[tuple[dict[str, str | None], list[str]]] = field(default_factory=list)
    text: str = ""

    @property
    def figures(self) -> list[dict]:
        [(_attrs, body)] = [s for s in self.scripts if s[0].get("id") == "vbt-figures"]
        return json.loads(body)

    def table_rows(self, key: str) -> list[tuple[dict[str, str | None], list[str]]]:
        """Rows carrying ``data-<key>``."""
        return [r for r in self.rows if f"data-{key}" in r[0]]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Parsed()
        self._in: str | None = None
        self._buf: list[str] = []
        self._attrs: dict[str, str | None] = {}
        self._row: tuple[dict, list[str]] | None = None
        self._cell: list[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.out.tags.append((tag, a))
        if tag in ("script", "style"):
            self._in, self._buf, self._attrs = tag, [], a
        elif tag == "tr" and any(k.startswith("data-") for k in a):
            self._row = (a, [])
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == self._in:
            body = "".join(self._buf)
            if tag == "style":
                self.out.styles.append(body)
            else:
                self.out.scripts.append((self._attrs, body))
            self._in = None
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row[1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.out.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)
            return
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def close(self):
        super().close()
        self.out.text = " ".join(" ".join(self._text).split())


def parse(text: str) -> Parsed:
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.out


def number(text: str) -> tuple[float | None, int]:
    """A shown value back as (number, decimals shown): "12.35 %" → (12.35, 2), "—" → (None, 0).
    Units and thousands separators are dropped."""
    t = re.sub(r"\s*(%|h|bars)$", "", text.strip()).replace(",", "")
    if t == "—":
        return None, 0
    return float(t), len(t.split(".")[1]) if "." in t else 0
