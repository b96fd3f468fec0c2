"""HTTPS in the router: one TLS context per app certificate, picked by the client's SNI name.

Connections on the TLS socket start with the default context; its ``sni_callback`` swaps in the
context of the certificate for the name the client asked for: the certificate of the app that
name routes to, else a certificate that names it (exactly, or by a ``*.`` wildcard one label
deep). Names no certificate covers, and clients that send no name, get the default: a
self-signed certificate made when the router starts, so no app's certificate is shown for a name
it was not chosen for; the request is then routed by Host as over HTTP (unknown hosts get 404).

Contexts are rebuilt when the route table is reloaded and cached by the files' paths, inodes and
modification times, so an unchanged certificate is not loaded again and a replaced one is.
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from twelve.router.table import RouteTable, TlsFiles

DEFAULT_NAME = "twelve-router.invalid"  # the default certificate's name: matches no real host
HANDSHAKE_TIMEOUT = 10.0  # seconds a client gets to finish the TLS handshake

_Stamp = tuple[int, int, int, int]  # cert inode and mtime, key inode and mtime


def self_signed(hostname: str = DEFAULT_NAME, days: int = 3650) -> tuple[bytes, bytes]:
    """A new self-signed certificate for ``hostname`` and its key, both PEM (EC P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    """A server context for one certificate: TLS 1.2 or newer, HTTP/1.1 over ALPN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert_path, key_path)
    return context


def context_from_pem(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context for PEM bytes (loaded through a private temporary directory)."""
    with tempfile.TemporaryDirectory(prefix="twelve-tls-") as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        return server_context(cert_path, key_path)


def _stamp(files: TlsFiles) -> _Stamp:
    cert, key = os.stat(files.cert), os.stat(files.key)
    return (cert.st_ino, cert.st_mtime_ns, key.st_ino, key.st_mtime_ns)


class Certificates:
    """The TLS contexts of one router worker and the SNI choice between them."""

    def __init__(self, default_pem: tuple[bytes, bytes]) -> None:
        self.default = context_from_pem(*default_pem)
        self.default.sni_callback = self._choose
        self._exact: dict[str, ssl.SSLContext] = {}
        self._wildcard: dict[str, ssl.SSLContext] = {}  # parent domain -> context
        self._cache: dict[tuple[str, str], tuple[_Stamp, ssl.SSLContext]] = {}

    def update(self, table: RouteTable) -> list[str]:
        """Load the certificates ``table`` names; return warnings for those that cannot be used.

        An app whose certificate cannot be loaded is served with the default certificate over
        HTTPS, and as before over HTTP.
        """
        warnings: list[str] = []
        loaded: dict[str, tuple[TlsFiles, ssl.SSLContext]] = {}
        cache: dict[tuple[str, str], tuple[_Stamp, ssl.SSLContext]] = {}
        for name, route in sorted(table.routes.items()):
            files = route.tls
            if files is None:
                continue
            key = (files.cert, files.key)
            try:
                stamp = _stamp(files)
                cached = self._cache.get(key) or cache.get(key)
                context = (
                    cached[1]
                    if cached and cached[0] == stamp
                    else server_context(files.cert, files.key)
                )
            except (OSError, ssl.SSLError) as exc:
                warnings.append(
                    f"app {name}: certificate not loaded ({exc}); HTTPS uses the default"
                )
                continue
            cache[key] = (stamp, context)
            loaded[name] = (files, context)
        exact: dict[str, ssl.SSLContext] = {}
        wildcard: dict[str, ssl.SSLContext] = {}
        for files, context in loaded.values():  # the names each certificate covers, app order
            for hostname in files.hostnames:
                if hostname.startswith("*."):
                    wildcard.setdefault(hostname[2:], context)
                else:
                    exact.setdefault(hostname, context)
        for host, route in table.hosts.items():  # a routed name shows its own app's certificate
            if route.app in loaded:
                exact[host] = loaded[route.app][1]
        self._exact, self._wildcard, self._cache = exact, wildcard, cache
        return warnings

    def context_for(self, server_name: str | None) -> ssl.SSLContext:
        """The context for an SNI name (None when the client sent none)."""
        if not server_name:
            return self.default
        name = server_name.lower().rstrip(".")
        found = self._exact.get(name) or self._wildcard.get(name.partition(".")[2])
        return found or self.default

    def _choose(
        self, connection: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext
    ) -> None:
        chosen = self.context_for(server_name)
        if chosen is not self.default:
            connection.context = chosen
