"""``certs:add`` validation: what a certificate and key must be, and the one-line reason when not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certmaker import DAY, NOW, TestCA, key_pem
from twelve.certs import check_pair, covers, describe_certificate
from twelve.errors import UsageError


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


def refused(cert: bytes, key: bytes) -> str:
    with pytest.raises(UsageError) as info:
        check_pair(cert, key, NOW)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_a_valid_certificate_is_accepted_with_its_hostnames_and_expiry(ca):
    cert, key = ca.issue("www.example.com", "Example.com", "*.apps.example.com")
    clean_cert, clean_key, info = check_pair(b"junk before\n" + cert, key, NOW)
    assert info.hostnames == ("www.example.com", "example.com", "*.apps.example.com")
    assert info.not_after > NOW
    assert "twelve test CA" in info.issuer
    assert clean_cert == cert
    assert clean_key.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_chain_keeps_every_certificate_with_the_server_one_first(ca):
    cert, key = ca.issue("www.example.com")
    clean_cert, _, _ = check_pair(cert + ca.pem, key, NOW)
    assert clean_cert == cert + ca.pem


def test_a_file_that_is_not_a_certificate_is_refused(ca):
    _, key = ca.issue("www.example.com")
    assert "not a PEM certificate" in refused(b"hello", key)
    assert "not a PEM certificate" in refused(key, key)  # the files given the wrong way round


def test_a_key_that_is_not_a_key_is_refused(ca):
    cert, _ = ca.issue("www.example.com")
    assert "not a PEM private key" in refused(cert, cert)
    assert "not a PEM private key" in refused(cert, b"-----BEGIN PRIVATE KEY-----\nxx\n")


def test_an_encrypted_key_is_refused_with_how_to_decrypt_it(ca):
    cert, _ = ca.issue("www.example.com")
    key = key_pem(ec.generate_private_key(ec.SECP256R1()), b"secret")
    assert "encrypted" in refused(cert, key)
    assert "openssl pkey" in refused(cert, key)


def test_the_key_of_another_certificate_is_refused(ca):
    cert, _ = ca.issue("www.example.com")
    _, other_key = ca.issue("www.example.com")
    assert "does not belong to the certificate" in refused(cert, other_key)
    # A chain given in the wrong order: the key matches the second certificate, not the first.
    assert "does not belong" in refused(ca.pem + cert, ca.issue("x.example.com")[1])


def test_an_expired_certificate_is_refused_with_its_date(ca):
    cert, key = ca.issue("www.example.com", not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    message = refused(cert, key)
    assert "expired on" in message and str((NOW - DAY).year) in message


def test_a_certificate_not_yet_valid_is_refused(ca):
    cert, key = ca.issue("www.example.com", not_before=NOW + DAY, not_after=NOW + 2 * DAY)
    assert "not valid until" in refused(cert, key)


def test_the_common_name_counts_only_when_there_are_no_dns_names(ca):
    cert, key = ca.issue(common_name="legacy.example.com")
    assert check_pair(cert, key, NOW)[2].hostnames == ("legacy.example.com",)
    cert, _ = ca.issue("san.example.com", common_name="cn.example.com")
    assert describe_certificate(cert).hostnames == ("san.example.com",)


def test_a_certificate_without_any_hostname_is_refused(ca):
    cert, key = ca.issue(common_name=" ")
    assert "names no hostname" in refused(cert, key)


def test_expiry_is_reported_against_the_clock_given(ca):
    cert, _ = ca.issue("www.example.com", not_after=NOW + DAY)
    info = describe_certificate(cert)
    assert not info.expired(NOW)
    assert info.expired(NOW + DAY + timedelta(seconds=1))
    assert x509.load_pem_x509_certificate(cert).not_valid_after_utc == info.not_after


def test_wildcards_cover_one_label_only():
    assert covers("*.example.com", "www.example.com")
    assert covers("www.example.com", "WWW.example.com")
    assert not covers("*.example.com", "example.com")
    assert not covers("*.example.com", "a.b.example.com")
    assert not covers("www.example.com", "api.example.com")
