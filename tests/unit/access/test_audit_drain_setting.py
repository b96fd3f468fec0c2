"""TWELVE_AUDIT_DRAIN takes a drain URL and names itself when it is not one."""

from __future__ import annotations

import pytest

from twelve.errors import ConfigError
from twelve.settings import Settings


def test_a_drain_url_is_taken_and_unset_means_none() -> None:
    assert Settings.from_environ({}).audit_drain is None
    url = "syslog+tls://logs.example.com:6514"
    assert Settings.from_environ({"TWELVE_AUDIT_DRAIN": url}).audit_drain == url


@pytest.mark.parametrize("value", ["ftp://x", "syslog+tcp://host", "not a url"])
def test_a_wrong_drain_url_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="TWELVE_AUDIT_DRAIN"):
        Settings.from_environ({"TWELVE_AUDIT_DRAIN": value})
