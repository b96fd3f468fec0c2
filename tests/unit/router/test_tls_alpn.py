"""TLS-ALPN-01 (RFC 8737) in the router: the validation certificate for a name with a pending
challenge, chosen by SNI, negotiated as ``acme-tls/1``; handshakes done in memory."""

from __future__ import annotations

import hashlib
import ssl

from cryptography import x509

from twelve.router.table import table_from_json
from twelve.router.tls import ACME_IDENTIFIER, Certificates, answered_validation, self_signed

DIGEST = hashlib.sha256(b"token.thumbprint").digest()


def certificates(alpn: dict[str, str]) -> Certificates:
    edge = {"challenges": {}, "acme": True, "redirect_port": 0, "hsts": "", "alpn": alpn}
    table, warnings = table_from_json({"version": 1, "apps": {"web": {"edge": edge}}}, "localhost")
    assert warnings == []
    certs = Certificates(self_signed())
    assert certs.update(table) == []
    return certs


def handshake(
    certs: Certificates, name: str, protocols: list[str]
) -> tuple[ssl.SSLObject, x509.Certificate]:
    """A client offering ``protocols`` for SNI ``name``; the server's side and its certificate."""
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    client_ctx.set_alpn_protocols(protocols)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=name)
    server = certs.default.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for side, obj in (("client", client), ("server", server)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values())
    der = client.getpeercert(binary_form=True)
    assert der is not None
    return server, x509.load_der_x509_certificate(der)


class Transport:
    def __init__(self, ssl_object: ssl.SSLObject) -> None:
        self.ssl_object = ssl_object

    def get_extra_info(self, name: str) -> object:
        return self.ssl_object if name == "ssl_object" else None


def names(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return san.value.get_values_for_type(x509.DNSName)


def test_a_ca_offering_acme_tls_gets_the_validation_certificate_and_is_closed() -> None:
    certs = certificates({"a.test": DIGEST.hex()})
    server, cert = handshake(certs, "A.test", ["acme-tls/1"])
    assert server.selected_alpn_protocol() == "acme-tls/1"
    assert answered_validation(Transport(server))
    assert names(cert) == ["a.test"]
    extension = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER)
    assert extension.critical
    assert isinstance(extension.value, x509.UnrecognizedExtension)
    assert extension.value.value == b"\x04\x20" + DIGEST  # DER OCTET STRING of the digest


def test_another_client_of_that_name_proceeds_without_alpn_and_is_served() -> None:
    certs = certificates({"a.test": DIGEST.hex()})
    server, cert = handshake(certs, "a.test", ["h2", "http/1.1"])
    assert server.selected_alpn_protocol() is None
    assert not answered_validation(Transport(server))
    assert names(cert) == ["a.test"]


def test_other_names_and_a_finished_challenge_show_the_usual_certificates() -> None:
    certs = certificates({"a.test": DIGEST.hex()})
    server, cert = handshake(certs, "b.test", ["acme-tls/1", "http/1.1"])
    assert server.selected_alpn_protocol() == "http/1.1"
    assert names(cert) == ["twelve-router.invalid"]
    done = certificates({})
    server, cert = handshake(done, "a.test", ["acme-tls/1"])
    assert server.selected_alpn_protocol() is None and names(cert) == ["twelve-router.invalid"]


def test_an_unchanged_challenge_keeps_its_context_across_reloads() -> None:
    certs = certificates({"a.test": DIGEST.hex()})
    first = certs.context_for("a.test")
    edge = {"challenges": {}, "acme": True, "alpn": {"a.test": DIGEST.hex()}}
    table, _ = table_from_json({"version": 2, "apps": {"web": {"edge": edge}}}, "localhost")
    certs.update(table)
    assert certs.context_for("a.test") is first
    edge["alpn"] = {"a.test": hashlib.sha256(b"other").hexdigest()}
    table, _ = table_from_json({"version": 3, "apps": {"web": {"edge": edge}}}, "localhost")
    certs.update(table)
    assert certs.context_for("a.test") is not first
