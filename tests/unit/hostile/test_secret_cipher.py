"""Stored secrets: a value never comes back under a wrong or tampered key, and rotation moves every
value to the current key exactly once."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from twelve.errors import ConfigError
from twelve.store.secrets import PREFIX, Cipher

VALUE = "postgres://u:distinctive-5d1e@db/shop"


def test_a_value_round_trips_and_its_stored_form_reveals_nothing() -> None:
    cipher = Cipher("a passphrase")
    stored = cipher.encrypt(VALUE)
    assert stored.startswith(PREFIX) and "distinctive" not in stored
    assert cipher.encrypt(VALUE) != stored, "each encryption is fresh"
    assert cipher.decrypt(stored) == VALUE


def test_a_fernet_key_is_used_as_given_and_a_passphrase_is_stretched() -> None:
    key = Fernet.generate_key().decode()
    stored = Cipher(key).encrypt(VALUE)
    assert Fernet(key.encode()).decrypt(stored.removeprefix(PREFIX).encode()).decode() == VALUE
    assert Cipher(" " + key + "\n").decrypt(stored) == VALUE, "a key file's newline is ignored"


@pytest.mark.parametrize("reader", [Cipher("another key"), Cipher.plaintext()])
def test_a_wrong_or_missing_key_is_one_clear_error(reader: Cipher) -> None:
    stored = Cipher("the right key").encrypt(VALUE)
    with pytest.raises(ConfigError) as raised:
        reader.decrypt(stored)
    assert "distinctive" not in raised.value.message and "\n" not in raised.value.message


def test_a_wrong_key_is_found_when_the_daemon_starts_not_on_first_use() -> None:
    """Start re-encrypts what needs it; a value no key reads stops the start with the reason."""
    with pytest.raises(ConfigError, match="TWELVE_SECRET_KEY"):
        Cipher("another key").rotate(Cipher("the right key").encrypt(VALUE))


def test_a_tampered_value_is_refused_not_returned() -> None:
    cipher = Cipher("key")
    stored = cipher.encrypt(VALUE)
    flipped = stored[:-5] + ("A" if stored[-5] != "A" else "B") + stored[-4:]
    with pytest.raises(ConfigError):
        cipher.decrypt(flipped)


def test_rotation_moves_values_to_the_current_key_once() -> None:
    old = Cipher("old key").encrypt(VALUE)
    rotating = Cipher("new key", previous="old key")
    assert rotating.decrypt(old) == VALUE, "the previous key still reads while rotating"
    moved = rotating.rotate(old)
    assert moved != old and Cipher("new key").decrypt(moved) == VALUE
    assert rotating.rotate(moved) == moved, "a value under the current key is left alone"
    assert Cipher("new key").rotate(moved) == moved


def test_values_written_before_encryption_read_as_they_are_and_get_encrypted() -> None:
    cipher = Cipher("key")
    assert cipher.decrypt("plain") == "plain"
    assert cipher.decrypt(cipher.rotate("plain")) == "plain"
    assert cipher.rotate("plain").startswith(PREFIX)
    assert Cipher.plaintext().rotate("plain") == "plain"
