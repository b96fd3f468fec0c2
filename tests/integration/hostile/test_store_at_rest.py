"""Drain URLs carry tokens as often as add-on URLs carry passwords: the store keeps them encrypted
too, still finds them by URL, and encrypts those written before it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from twelve.errors import Conflict, NotFound
from twelve.store import Store
from twelve.store.rotation import reencrypt
from twelve.store.secrets import Cipher

DRAIN = "https://token-of-the-drain-8e21@logs.example/ingest"


def raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_drain_urls_are_encrypted_and_still_matched_by_url(tmp_path: Path) -> None:
    store = Store(tmp_path / "twelve.db", Cipher("key"))
    store.apps.create("shop")
    store.apps.create("bank")
    store.drains.add("shop", DRAIN)
    store.drains.add("bank", DRAIN)
    with pytest.raises(Conflict):
        store.drains.add("shop", DRAIN)
    assert store.drains.of_app("shop") == [DRAIN]
    store.drains.remove("shop", DRAIN)
    with pytest.raises(NotFound):
        store.drains.remove("shop", DRAIN)
    assert store.drains.of_app("bank") == [DRAIN], "another app's drain is untouched"
    store.close()
    assert b"token-of-the-drain" not in raw(tmp_path / "twelve.db")


def test_drains_written_before_encryption_are_encrypted_at_start(tmp_path: Path) -> None:
    plain = Store(tmp_path / "twelve.db")
    plain.apps.create("shop")
    plain.drains.add("shop", DRAIN)
    plain.close()
    store = Store(tmp_path / "twelve.db", Cipher("key"))
    assert reencrypt(store.db) == 1
    assert store.drains.of_app("shop") == [DRAIN]
    store.close()
    assert b"token-of-the-drain" not in raw(tmp_path / "twelve.db")
