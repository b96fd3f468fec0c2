"""Sealed backup files as streams of plaintext chunks, read in a thread so the loop keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import BinaryIO

from twelve.backups import seal
from twelve.errors import ServiceError

Opener = Callable[[], contextlib.AbstractContextManager[BinaryIO]]


class SealedWriter:
    """A new sealed file at ``path`` (0600), counting and hashing the plaintext written."""

    def __init__(self, path: Path, key: bytes) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._sealer = seal.Sealer(key, self._file)
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.hash.update(chunk)
        self.size += len(chunk)
        self._sealer.write(chunk)

    def close(self) -> int:
        """Finish the file; its size."""
        self._sealer.close()
        self._file.close()
        return self._sealer.written

    def abandon(self) -> None:
        self._file.close()


async def plaintext(
    opener: Opener, keys: list[bytes], label: str, digest: hashlib._Hash | None = None
) -> AsyncGenerator[bytes, None]:
    """The plaintext of a sealed file, chunk by chunk; a ServiceError naming ``label`` when
    the file cannot be read or fails its checks."""
    manager = opener()
    handle = await asyncio.to_thread(manager.__enter__)
    try:
        chunks = seal.open_chunks(keys, handle)
        while True:
            try:
                chunk = await asyncio.to_thread(next, chunks, None)
            except seal.Unreadable as exc:
                raise ServiceError(f"{label} cannot be read: {exc}") from None
            if chunk is None:
                return
            if digest is not None:
                digest.update(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
