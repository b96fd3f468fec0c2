"""`twelve drains:add` accepts syslog and HTTPS drain URLs and explains a wrong one in one line."""

import pytest

from twelve.errors import UsageError
from twelve.logs.drain_url import parse_drain_url, redact


def test_syslog_drains_need_a_host_and_a_port() -> None:
    target = parse_drain_url("syslog+tls://logs.example.com:6514")
    assert (target.scheme, target.host, target.port) == ("syslog+tls", "logs.example.com", 6514)
    assert target.is_syslog and target.uses_tls
    with pytest.raises(UsageError, match="needs a port"):
        parse_drain_url("syslog+tcp://logs.example.com")


def test_https_drains_default_to_port_443() -> None:
    target = parse_drain_url("https://user:secret@logs.example.com/drain?token=abc")
    assert (target.host, target.port, target.is_syslog) == ("logs.example.com", 443, False)


@pytest.mark.parametrize("url", ["ftp://host:21", "logs.example.com:514", "syslog://host:514"])
def test_an_unknown_scheme_is_a_usage_error_listing_the_ones_that_work(url: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_drain_url(url)
    assert error.value.hint is not None
    assert "syslog+tcp://" in error.value.hint and "https://" in error.value.hint


def test_a_url_without_host_or_with_a_bad_port_is_refused() -> None:
    with pytest.raises(UsageError, match="no host"):
        parse_drain_url("https:///path")
    with pytest.raises(UsageError, match="invalid port"):
        parse_drain_url("syslog+tcp://host:99999")


def test_urls_shown_in_log_lines_hide_credentials_and_tokens() -> None:
    shown = redact("https://user:s3cret@logs.example.com/drain?token=abc#x")
    assert shown == "https://***@logs.example.com/drain"
    assert parse_drain_url("syslog+tcp://t0ken@host:514").shown == "syslog+tcp://***@host:514"
    assert redact("syslog+tcp://host:514") == "syslog+tcp://host:514"
