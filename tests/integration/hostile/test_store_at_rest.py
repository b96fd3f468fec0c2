"""Drain URLs carry tokens as often as add-on URLs carry passwords: the store keeps them encrypted
too, still finds them by URL, and encrypts those written before it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from twelve.errors import Conflict, NotFound
from twelve.store import Store
from twelve.store.secrets import Cipher

DRAIN = "https://token-of-the-drain-8e21@logs.example/ingest"


def raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_drain_urls_are_encrypted_and_still_matched_by_url(tmp_path: Path) -> None:
    store = Store(tmp_path / "twelve.db", Cipher("key"))
    store.create_app("shop")
    store.create_app("bank")
    store.add_drain("shop", DRAIN)
    store.add_drain("bank", DRAIN)
    with pytest.raises(Conflict):
        store.add_drain("shop", DRAIN)
    assert store.list_drains("shop") == [DRAIN]
    store.remove_drain("shop", DRAIN)
    with pytest.raises(NotFound):
        store.remove_drain("shop", DRAIN)
    assert store.list_drains("bank") == [DRAIN], "another app's drain is untouched"
    store.close()
    assert b"token-of-the-drain" not in raw(tmp_path / "twelve.db")


def test_drains_written_before_encryption_are_encrypted_at_start(tmp_path: Path) -> None:
    plain = Store(tmp_path / "twelve.db")
    plain.create_app("shop")
    plain.add_drain("shop", DRAIN)
    plain.close()
    store = Store(tmp_path / "twelve.db", Cipher("key"))
    assert store.reencrypt() == 1
    assert store.list_drains("shop") == [DRAIN]
    store.close()
    assert b"token-of-the-drain" not in raw(tmp_path / "twelve.db")
