"""Config values at rest: the store file alone reveals none, and keys rotate."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from twelve.errors import ConfigError
from twelve.store import Store
from twelve.store.rotation import reencrypt
from twelve.store.secrets import Cipher

VALUE = "distinctive-db-password-4a7c"


def raw_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def fill(store: Store) -> None:
    store.apps.create("shop")
    store.config.replace("shop", {"DATABASE_URL": f"postgres://u:{VALUE}@db/shop"})
    store.releases.add("shop", 1, None, store.config.get("shop"), {}, "Set DATABASE_URL")


def test_the_store_file_alone_reveals_no_config_value(tmp_path: Path) -> None:
    path = tmp_path / "twelve.db"
    store = Store(path, Cipher.from_home(tmp_path, None, None))
    fill(store)
    assert store.config.get("shop")["DATABASE_URL"].endswith(f"{VALUE}@db/shop")
    release = store.releases.current("shop")
    assert release is not None and VALUE in release.config["DATABASE_URL"]
    store.close()
    assert VALUE.encode() not in raw_bytes(path)
    assert b"DATABASE_URL" in raw_bytes(path), "keys stay readable; only values are secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secret-key").stat().st_mode) == 0o600
    again = Store(path, Cipher.from_home(tmp_path, None, None))
    assert VALUE in again.config.get("shop")["DATABASE_URL"], "the key file is reused"
    again.close()


def test_a_wrong_key_is_a_clear_error_and_rotation_re_encrypts(tmp_path: Path) -> None:
    path = tmp_path / "twelve.db"
    store = Store(path, Cipher("old passphrase"))
    fill(store)
    store.close()
    wrong = Store(path, Cipher("another passphrase"))
    with pytest.raises(ConfigError, match="TWELVE_SECRET_KEY_PREVIOUS"):
        wrong.config.get("shop")
    wrong.close()
    rotating = Store(path, Cipher("new passphrase", previous="old passphrase"))
    assert reencrypt(rotating.db) == 2  # the config row and the release snapshot
    rotating.close()
    rotated = Store(path, Cipher("new passphrase"))
    assert VALUE in rotated.config.get("shop")["DATABASE_URL"]
    assert reencrypt(rotated.db) == 0
    rotated.close()


def test_values_stored_before_encryption_are_encrypted_at_start(tmp_path: Path) -> None:
    path = tmp_path / "twelve.db"
    plain = Store(path)
    fill(plain)
    plain.close()
    assert VALUE.encode() in raw_bytes(path)
    store = Store(path, Cipher("a key"))
    assert reencrypt(store.db) == 2
    store.close()
    assert VALUE.encode() not in raw_bytes(path)
