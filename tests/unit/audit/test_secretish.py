"""Which names are secret-like, which literals could be secrets, which are placeholders."""

from __future__ import annotations

import pytest

from twelve.audit.secretish import is_placeholder, is_secret_name, known_token, plausible_secret


@pytest.mark.parametrize(
    "name",
    [
        "SECRET_KEY",
        "db_password",
        "apiKey",
        "authToken",
        "secret",
        "STRIPE_SECRET_KEY",
        "client_secret",
        "PRIVATE_KEY",
        "GITHUB_TOKEN",
        "passwd",
        "JWT_SECRET",
        "access_key",
    ],
)
def test_secret_like_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "TOKEN_URL",
        "PASSWORD_HASHERS",
        "AUTH_PASSWORD_VALIDATORS",
        "password_reset_timeout",
        "key",
        "SECRET_KEY_ENV",
        "cache_key",
        "primary_key",
        "tokens_used",
        "SESSION_COOKIE_SECURE",
        "PASSWORD_FIELD",
    ],
)
def test_names_about_secrets_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "DJANGO_SECRET_KEY",
        "{{ secret }}",
        "${SECRET}",
        "Enter your password",
        "/run/secrets/key",
        "%(pw)s",
    ],
)
def test_values_that_cannot_be_secrets(value: str) -> None:
    assert not plausible_secret(value)


def test_placeholders_and_real_looking_values() -> None:
    """Placeholders are reported at low severity; Django's generated keys are real secrets."""
    for value in ["changeme", "your-secret-key", "xxxxxxxxxxxx", "dev", "<api key>", "test-secret"]:
        assert is_placeholder(value), value
    for value in ["django-insecure-7f#k2!qz9m@x4w$e8r5t", "9f8a7b6c5d4e3f2a1b0c", "Zq8#mW2!pL5x"]:
        assert not is_placeholder(value), value


def test_known_token_shapes() -> None:
    assert known_token("key = AKIAIOSFODNN7EXAMPLE") == "an AWS access key"
    assert known_token("-----BEGIN RSA PRIVATE KEY-----") == "a private key"
    assert known_token("AKIA-not-a-key") is None
