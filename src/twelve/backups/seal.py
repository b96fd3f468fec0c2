"""Backup files encrypted as a stream with a key derived from the platform's secret key.

A file is a header (magic, a key id, a random salt) then frames, each a 4-byte length and one
AES-256-GCM sealed chunk. Each chunk's nonce and associated data hold its position and whether it
is the last, so a reordered, cut or altered file fails to open rather than restoring wrong data.
Chunks are sealed and opened one at a time: a backup is never held whole in memory.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"TWELVE-BACKUP-1\n"
PURPOSE = b"twelve backups v1"
CHUNK = 1 << 20
_TAG = 16
_HEADER = len(MAGIC) + 8 + 16


class Unreadable(Exception):
    """The file is not a backup this key opens, or it was altered or cut short."""


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"id" + key).digest()[:8]


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=PURPOSE).derive(key)
    return AESGCM(derived)


def _nonce_and_aad(index: int, last: bool) -> tuple[bytes, bytes]:
    position = struct.pack(">Q", index)
    return b"\0\0\0\0" + position, position + (b"\1" if last else b"\0")


class Sealer:
    """Writes sealed chunks to ``out``; ``close`` writes the last one (which may be empty)."""

    def __init__(self, key: bytes, out: BinaryIO) -> None:
        salt = os.urandom(16)
        self._aead = _file_key(key, salt)
        self._out = out
        self._index = 0
        self._pending = bytearray()
        self.written = 0
        self._write(MAGIC + key_id(key) + salt)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.written += len(data)

    def _frame(self, data: bytes, last: bool) -> None:
        nonce, aad = _nonce_and_aad(self._index, last)
        sealed = self._aead.encrypt(nonce, data, aad)
        self._write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) > CHUNK:
            self._frame(bytes(self._pending[:CHUNK]), False)
            del self._pending[:CHUNK]

    def close(self) -> None:
        self._frame(bytes(self._pending), True)
        self._pending.clear()


def _read_up_to(inp: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end (a network stream may return less per read)."""
    data = inp.read(size)
    while 0 < len(data) < size:
        more = inp.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _read_exactly(inp: BinaryIO, size: int) -> bytes:
    data = _read_up_to(inp, size)
    if len(data) != size:
        raise Unreadable("the backup file is cut short")
    return data


def open_chunks(keys: list[bytes], inp: BinaryIO) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; Unreadable on any alteration."""
    header = _read_up_to(inp, _HEADER)
    if len(header) != _HEADER or not header.startswith(MAGIC):
        raise Unreadable("the file is not a twelve backup")
    wanted = header[len(MAGIC) : len(MAGIC) + 8]
    key = next((k for k in keys if key_id(k) == wanted), None)
    if key is None:
        raise Unreadable(
            "the backup was encrypted with another TWELVE_SECRET_KEY "
            "(set it, or TWELVE_SECRET_KEY_PREVIOUS)"
        )
    aead = _file_key(key, header[len(MAGIC) + 8 :])
    index = 0
    while True:
        (size,) = struct.unpack(">I", _read_exactly(inp, 4))
        if size < _TAG or size > CHUNK + _TAG:
            raise Unreadable("the backup file is damaged")
        sealed = _read_exactly(inp, size)
        for last in (False, True):
            nonce, aad = _nonce_and_aad(index, last)
            try:
                plain = aead.decrypt(nonce, sealed, aad)
            except InvalidTag:
                continue
            break
        else:
            raise Unreadable(f"the backup file is damaged (chunk {index} fails its check)")
        index += 1
        if plain:
            yield plain
        if last:
            if inp.read(1):
                raise Unreadable("the backup file has data past its end")
            return
