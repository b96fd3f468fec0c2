"""The keeper's messages on the wire: one JSON object per line, both ways."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
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


# The longest path a Unix socket address holds (108 bytes with the terminating NUL).
MAX_SOCKET_PATH = 107


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """An address for the socket at ``path`` that fits a Unix socket, however deep TWELVE_HOME
    is: the path itself, or the same file reached through an open descriptor of its directory."""
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)
