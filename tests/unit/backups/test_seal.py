"""Backup files sealed as a stream: what goes in comes out, and any damage is refused."""

from __future__ import annotations

import io
import os

import pytest

from twelve.backups import seal

KEY = os.urandom(32)


def sealed(data: bytes, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    sealer = seal.Sealer(key, out)
    for start in range(0, len(data), 300_000):
        sealer.write(data[start : start + 300_000])
    sealer.close()
    return out.getvalue()


def opened(blob: bytes, keys: list[bytes] | None = None) -> bytes:
    return b"".join(seal.open_chunks(keys or [KEY], io.BytesIO(blob)))


@pytest.mark.parametrize("size", [0, 1, seal.CHUNK, 3 * seal.CHUNK + 17])
def test_what_is_sealed_opens_unchanged(size: int) -> None:
    data = os.urandom(size)
    blob = sealed(data)
    assert size < 16 or data[:64] not in blob, "the plaintext is not in the file"
    assert opened(blob) == data


def test_a_file_sealed_with_the_previous_key_still_opens() -> None:
    old = os.urandom(32)
    assert opened(sealed(b"rows", old), [os.urandom(32), old]) == b"rows"


def test_another_key_is_named_in_the_refusal() -> None:
    with pytest.raises(seal.Unreadable, match="TWELVE_SECRET_KEY"):
        opened(sealed(b"rows"), [os.urandom(32)])


def test_a_flipped_byte_is_refused() -> None:
    blob = bytearray(sealed(os.urandom(2 * seal.CHUNK)))
    blob[len(blob) // 2] ^= 1
    with pytest.raises(seal.Unreadable, match="damaged"):
        opened(bytes(blob))


def test_a_file_cut_at_a_chunk_boundary_is_refused() -> None:
    data = os.urandom(3 * seal.CHUNK)
    blob = sealed(data)
    frame = 4 + seal.CHUNK + 16
    header = len(seal.MAGIC) + 24
    with pytest.raises(seal.Unreadable, match="cut short"):
        opened(blob[: header + 2 * frame])


def test_chunks_swapped_are_refused() -> None:
    blob = sealed(os.urandom(3 * seal.CHUNK))
    header = len(seal.MAGIC) + 24
    frame = 4 + seal.CHUNK + 16
    first, second = blob[header : header + frame], blob[header + frame : header + 2 * frame]
    swapped = blob[:header] + second + first + blob[header + 2 * frame :]
    with pytest.raises(seal.Unreadable):
        opened(swapped)


class Trickle(io.BytesIO):
    """A network stream: each read returns at most 1000 bytes."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(1000 if size is None or size < 0 else min(size, 1000))


def test_a_stream_that_returns_little_at_a_time_still_opens() -> None:
    data = os.urandom(seal.CHUNK + 5000)
    assert b"".join(seal.open_chunks([KEY], Trickle(sealed(data)))) == data
