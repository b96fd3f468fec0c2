"""HTTPS in the router: one TLS context per app certificate, picked by the client's SNI name.

Connections on the TLS socket start with the default context; its ``sni_callback`` swaps in the
context of the certificate for the name the client asked for: the certificate of the app that
name routes to, else a certificate that names it (exactly, or by a ``*.`` wildcard one label
deep). Names no certificate covers, and clients that send no name, get the default: a
self-signed certificate made when the router starts, so no app's certificate is shown for a name
it was not chosen for; the request is then routed by Host as over HTTP (unknown hosts get 404).

While a TLS-ALPN-01 challenge (RFC 8737) is pending for a name, that name's handshakes get the
validation certificate instead: self-signed, naming only that domain, with the critical
acmeIdentifier extension holding the key authorization's digest, in a context whose only ALPN
protocol is ``acme-tls/1``. OpenSSL runs the SNI choice before ALPN, so the choice cannot depend on
the client offering ``acme-tls/1``: a CA's validation negotiates it and is closed after the
handshake (``answered_validation``); any other client proceeds without ALPN as with the default
certificate, which is what a name without a certificate shows anyway. A name that has one shows
the validation certificate only for the seconds its renewal is validated, and only with
``TWELVE_ACME_CHALLENGE=tls-alpn-01`` (docs/https.md).

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
from cryptography.x509.oid import NameOID, ObjectIdentifier

from twelve.router.table import RouteTable, TlsFiles

DEFAULT_NAME = "twelve-router.invalid"  # the default certificate's name: matches no real host
HANDSHAKE_TIMEOUT = 10.0  # seconds a client gets to finish the TLS handshake

ACME_TLS_ALPN = "acme-tls/1"
ACME_IDENTIFIER = ObjectIdentifier("1.3.6.1.5.5.7.1.31")  # id-pe-acmeIdentifier (RFC 8737)

_Stamp = tuple[int, int, int, int]  # cert inode and mtime, key inode and mtime


def self_signed(
    hostname: str = DEFAULT_NAME, days: int = 3650, acme_digest: bytes | None = None
) -> tuple[bytes, bytes]:
    """A new self-signed certificate for ``hostname`` and its key, both PEM (EC P-256); with
    ``acme_digest``, the TLS-ALPN-01 validation certificate for that key authorization digest."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
    )
    if acme_digest is not None:  # the extension's value is the DER OCTET STRING of the digest
        value = b"\x04" + bytes([len(acme_digest)]) + acme_digest
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ACME_IDENTIFIER, value), critical=True
        )
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context(
    cert_path: str | Path, key_path: str | Path, alpn: str = "http/1.1"
) -> ssl.SSLContext:
    """A server context for one certificate: TLS 1.2 or newer, HTTP/1.1 over ALPN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols([alpn])
    context.load_cert_chain(cert_path, key_path)
    return context


def context_from_pem(cert_pem: bytes, key_pem: bytes, alpn: str = "http/1.1") -> ssl.SSLContext:
    """A server context for PEM bytes (loaded through a private temporary directory)."""
    with tempfile.TemporaryDirectory(prefix="twelve-tls-") as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        return server_context(cert_path, key_path, alpn)


def validation_context(domain: str, digest: bytes) -> ssl.SSLContext:
    """The TLS-ALPN-01 answer for ``domain``: its validation certificate, ALPN ``acme-tls/1``."""
    return context_from_pem(*self_signed(domain, 7, digest), alpn=ACME_TLS_ALPN)


def answered_validation(transport: object) -> bool:
    """Whether a TLS connection was a CA's TLS-ALPN-01 validation, which the handshake answered:
    RFC 8737 has nothing more exchanged, so the router closes it."""
    get = getattr(transport, "get_extra_info", None)
    ssl_object = get("ssl_object") if get is not None else None
    return ssl_object is not None and ssl_object.selected_alpn_protocol() == ACME_TLS_ALPN


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
        self._validation: dict[str, ssl.SSLContext] = {}  # name -> TLS-ALPN-01 answer
        self._validation_cache: dict[tuple[str, bytes], ssl.SSLContext] = {}

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
        self._update_validations(table)
        return warnings

    def _update_validations(self, table: RouteTable) -> None:
        made: dict[tuple[str, bytes], ssl.SSLContext] = {}
        for route in table.routes.values():
            for domain, digest in route.edge.alpn.items() if route.edge is not None else ():
                key = (domain, digest)
                made[key] = self._validation_cache.get(key) or validation_context(domain, digest)
        self._validation = {domain: context for (domain, _), context in made.items()}
        self._validation_cache = made

    def context_for(self, server_name: str | None) -> ssl.SSLContext:
        """The context for an SNI name (None when the client sent none)."""
        if not server_name:
            return self.default
        name = server_name.lower().rstrip(".")
        found = (
            self._validation.get(name)
            or self._exact.get(name)
            or self._wildcard.get(name.partition(".")[2])
        )
        return found or self.default

    def _choose(
        self, connection: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext
    ) -> None:
        chosen = self.context_for(server_name)
        if chosen is not self.default:
            connection.context = chosen
