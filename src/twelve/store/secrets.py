"""Config values at rest: encrypted in the store, so the database file alone reveals none.

The key comes from TWELVE_SECRET_KEY (any passphrase; it is stretched to a Fernet key), else from a
0600 key file made in TWELVE_HOME on first start. TWELVE_SECRET_KEY_PREVIOUS names the key being
rotated away from: values it encrypted still read, and the daemon re-encrypts them at start.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from twelve.errors import ConfigError

PREFIX = "enc1:"


def _fernet_key(secret: str) -> bytes:
    """A Fernet key from any passphrase (a Fernet key given as-is is used as it is)."""
    raw = secret.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


class Cipher:
    """Encrypts and decrypts stored values; values written before encryption read as they are."""

    def __init__(self, current: str | None, previous: str | None = None) -> None:
        self.rotating = bool(current and previous)
        keys = [Fernet(_fernet_key(k)) for k in (current, previous) if k]
        self._fernet = MultiFernet(keys) if keys else None
        self._current = keys[0] if keys else None
        self._raw = [base64.urlsafe_b64decode(_fernet_key(k)) for k in (current, previous) if k]

    @classmethod
    def plaintext(cls) -> Cipher:
        """No encryption (tests of the store's own logic)."""
        return cls(None)

    @classmethod
    def from_home(cls, home: Path, key: str | None, previous: str | None) -> Cipher:
        """The key from the setting, else from (or into) ``home/secret-key``."""
        if key is None:
            path = home / "secret-key"
            if not path.exists():
                home.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key() + b"\n")
            key = path.read_text().strip()
        return cls(key, previous)

    def subkeys(self, purpose: bytes) -> list[bytes]:
        """32-byte keys for ``purpose`` derived from the current key, then the previous one.

        Other data (backups) is encrypted with these, so one platform key protects everything and
        a key for one purpose reveals nothing of another.
        """
        return [
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)
            for raw in self._raw
        ]

    def encrypt(self, value: str) -> str:
        if self._fernet is None:
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption was on; re-encrypted at start
        if self._fernet is None:
            raise ConfigError("the store holds encrypted values but no key was given")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "config in the store cannot be decrypted with TWELVE_SECRET_KEY",
                "set the key it was written with (or TWELVE_SECRET_KEY_PREVIOUS while rotating)",
            ) from None

    def rotate(self, stored: str) -> str:
        """``stored`` encrypted with the current key (plaintext gets encrypted)."""
        if self._fernet is None:
            return stored
        if not stored.startswith(PREFIX):
            return self.encrypt(stored)
        if self._current is not None:
            try:
                self._current.decrypt(stored[len(PREFIX) :].encode())
            except InvalidToken:
                pass
            else:
                return stored  # already under the current key
        # Under the previous key, or a wrong key: the latter is a clear error at start.
        return self.encrypt(self.decrypt(stored))
