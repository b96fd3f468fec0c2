"""Tokens and invitations: random, stored as hashes, with lifetimes read from ``30d``-style text."""

from __future__ import annotations

import pytest

from twelve.access.tokens import digest, is_live, new_invitation, new_token, parse_duration
from twelve.errors import UsageError


def test_tokens_are_random_and_their_digest_is_not_the_token() -> None:
    first, second = new_token(), new_token()
    assert first != second and first.startswith("twelve_")
    assert digest(first) != first and len(digest(first)) == 64
    assert digest(first) == digest(first)
    assert new_invitation() != new_invitation()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 1209600)]
)
def test_lifetimes(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0d", "30", "1y", "-1d", "d"])
def test_a_lifetime_that_is_not_one_says_how_to_write_it(text: str) -> None:
    with pytest.raises(UsageError, match="30d"):
        parse_duration(text)


def test_a_token_lives_until_it_expires_or_is_revoked() -> None:
    assert is_live(None, None, now=1e9)
    assert is_live(100.0, None, now=99.9)
    assert not is_live(100.0, None, now=100.0)
    assert not is_live(None, 50.0, now=10.0)
