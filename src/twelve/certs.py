"""TLS certificates of apps: validation (pure) and their files under ``TWELVE_HOME/certs/APP/``.

A certificate is accepted when its PEM parses (a leaf, optionally followed by its chain), the
private key parses unencrypted and belongs to the leaf, it is valid now, and it names at least one
hostname (DNS subject alternative names, else the common name). The PEMs live in files the router
loads (``cert.pem`` and ``key.pem``, 0600 in a 0700 directory), never in the database; the route
table carries their paths and the hostnames they cover.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from twelve.errors import UsageError

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
_APP_DIR = re.compile(r"[a-z][a-z0-9-]{0,29}")
_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class CertInfo:
    """What a certificate says about itself, for listings and the route table."""

    hostnames: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    issuer: str
    fingerprint: str  # SHA-256 of the leaf, hex

    def expired(self, now: datetime) -> bool:
        return now >= self.not_after


@dataclass(frozen=True)
class StoredCert:
    """An app's certificate as stored: where its files are and what it covers."""

    app: str
    cert_path: Path
    key_path: Path
    info: CertInfo


def covers(name: str, hostname: str) -> bool:
    """Whether certificate name ``name`` (maybe ``*.example.com``) covers ``hostname``. Pure."""
    name, hostname = name.lower(), hostname.lower()
    if name.startswith("*."):
        head, dot, rest = hostname.partition(".")
        return bool(head) and bool(dot) and rest == name[2:]
    return name == hostname


def describe_certificate(cert_pem: bytes) -> CertInfo:
    """Read the leaf certificate of a PEM (chain); raise ``UsageError`` when it does not parse."""
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise UsageError(
            "the certificate file is not a PEM certificate",
            "pass the certificate (-----BEGIN CERTIFICATE-----) first, then the key",
        ) from None
    leaf = chain[0]
    return CertInfo(
        hostnames=_hostnames(leaf),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        issuer=leaf.issuer.rfc4514_string(),
        fingerprint=hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest(),
    )


def _hostnames(leaf: x509.Certificate) -> tuple[str, ...]:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    except (x509.ExtensionNotFound, ValueError):
        names = []
    if not names:  # only certificates without DNS names fall back to the common name
        names = [str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return tuple(dict.fromkeys(n.strip().lower().rstrip(".") for n in names if n.strip()))


def check_pair(cert_pem: bytes, key_pem: bytes, now: datetime) -> tuple[bytes, bytes, CertInfo]:
    """Validate a certificate and its key; return both as clean PEM with what the cert covers.

    Raises ``UsageError`` with a one-line reason: not a certificate, not a key, an encrypted key,
    a key of another certificate, expired, not yet valid, or no hostname. Pure.
    """
    info = describe_certificate(cert_pem)
    chain = x509.load_pem_x509_certificates(cert_pem)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise UsageError(
            "the private key is encrypted",
            "decrypt it first: openssl pkey -in KEY -out KEY.plain",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(
            "the key file is not a PEM private key",
            "pass the certificate first, then its private key (-----BEGIN ... PRIVATE KEY-----)",
        ) from None
    if key.public_key().public_bytes(*_SPKI) != chain[0].public_key().public_bytes(*_SPKI):
        raise UsageError(
            "the private key does not belong to the certificate",
            "pass the key the certificate was issued for; the server certificate comes first",
        )
    if info.expired(now):
        raise UsageError(
            f"the certificate expired on {info.not_after:%Y-%m-%d %H:%M} UTC",
            "renew it and add the new one",
        )
    if now < info.not_before:
        raise UsageError(
            f"the certificate is not valid until {info.not_before:%Y-%m-%d %H:%M} UTC",
            "check the machine's clock or wait until then",
        )
    if not info.hostnames:
        raise UsageError("the certificate names no hostname", "issue it for the app's domains")
    clean_cert = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    clean_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return clean_cert, clean_key, info


class CertStore:
    """The certificate files of every app, under one root directory (``settings.certs_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, app: str) -> Path:
        if not _APP_DIR.fullmatch(app):
            raise UsageError(f"invalid app name {app!r}")
        return self.root / app

    def save(self, app: str, cert_pem: bytes, key_pem: bytes) -> StoredCert:
        """Store (or replace) ``app``'s certificate and key, each file replaced atomically."""
        directory = self._dir(app)
        for path in (self.root, directory):
            path.mkdir(mode=0o700, exist_ok=True)
            os.chmod(path, 0o700)
        write_private(directory / KEY_FILE, key_pem)
        write_private(directory / CERT_FILE, cert_pem)
        stored = self.get(app)
        assert stored is not None
        return stored

    def get(self, app: str) -> StoredCert | None:
        """``app``'s stored certificate, or None when it has none (or its files are unreadable)."""
        directory = self._dir(app)
        cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
        try:
            info = describe_certificate(cert_path.read_bytes())
        except (OSError, UsageError):
            return None
        if not key_path.is_file():
            return None
        return StoredCert(app, cert_path, key_path, info)

    def remove(self, app: str) -> bool:
        """Delete ``app``'s certificate and key; False when there was none."""
        directory = self._dir(app)
        if not directory.is_dir():
            return False
        shutil.rmtree(directory)
        return True

    def all(self) -> dict[str, StoredCert]:
        """Every app's stored certificate, by app name."""
        found: dict[str, StoredCert] = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
                if entry.is_dir() and _APP_DIR.fullmatch(entry.name):
                    stored = self.get(entry.name)
                    if stored is not None:
                        found[entry.name] = stored
        return found


def write_private(path: Path, data: bytes) -> None:
    """Write a 0600 file through a temporary name, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
