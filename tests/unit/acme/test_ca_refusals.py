"""A CA's refusal as the ACME library's network layer reads it: ``rateLimited`` and 503 keep the
CA's ``Retry-After`` (which the library drops), other errors pass as they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from twelve.acme import client as ca
from twelve.acme.client import Throttled, _Network, ari_cert_id, translate


def response(status: int, body: object, **headers: str) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made.reason = "Service Unavailable" if status == 503 else "Too Many Requests"
    made._content = json.dumps(body).encode() if body is not None else b"busy"
    made.headers.update(headers)
    if body is not None:
        made.headers["Content-Type"] = "application/problem+json"
    return made


def refusal(made: requests.Response) -> Throttled:
    with pytest.raises(Throttled) as info:
        _Network._check_response(made)
    return info.value


def test_rate_limited_keeps_the_cas_words_and_its_retry_after() -> None:
    problem = {"type": "urn:ietf:params:acme:error:rateLimited", "detail": "too many orders"}
    before = datetime.now(UTC)
    thrown = refusal(response(429, problem, **{"Retry-After": "3600"}))
    assert thrown.message == "rateLimited: too many orders"
    assert thrown.not_before is not None
    assert before + timedelta(seconds=3599) <= thrown.not_before
    error = translate(thrown)
    assert error.keep_order and error.not_before == thrown.not_before
    assert str(error) == "rateLimited: too many orders"


def test_a_503_without_a_problem_document_is_a_refusal_too() -> None:
    thrown = refusal(response(503, None, **{"Retry-After": "Thu, 01 Jan 2099 00:00:00 GMT"}))
    assert thrown.message == "the CA answered 503 Service Unavailable"
    assert thrown.not_before == datetime(2099, 1, 1, tzinfo=UTC)


def test_other_errors_are_the_librarys_as_before() -> None:
    problem = {"type": "urn:ietf:params:acme:error:badNonce", "detail": "stale"}
    with pytest.raises(ca.messages.Error) as info:
        _Network._check_response(response(400, problem))
    assert info.value.code == "badNonce"  # the library retries these itself
    with pytest.raises(ca.errors.ClientError):
        _Network._check_response(response(500, None))
    assert translate(Throttled("rateLimited", None)).not_before is None


def test_the_renewal_information_id_of_rfc_9773s_example() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example")])
    aki = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x87654321)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2026, 4, 1, tzinfo=UTC))
        .add_extension(x509.AuthorityKeyIdentifier(aki, None, None), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert ari_cert_id(pem) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
