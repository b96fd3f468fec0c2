"""The keeper's messages on the wire: one JSON object per line, both ways."""

from __future__ import annotations

import json
from typing import Any

Message = dict[str, Any]


def encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Message:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("a keeper message is a JSON object")
    return value


def to_text(raw: bytes) -> str:
    """Bytes of a raw line as JSON-safe text; ``to_bytes`` gives the same bytes back."""
    return raw.decode("utf-8", "surrogateescape")


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")
