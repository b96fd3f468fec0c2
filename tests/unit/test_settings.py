"""The platform reads its own config from TWELVE_* variables only, with clear errors."""

from pathlib import Path

import pytest

from twelve.errors import ConfigError
from twelve.settings import Settings
from twelve.settings_values import Bind, parse_bind, parse_size


def test_defaults_match_the_documented_ones() -> None:
    s = Settings.from_environ({"TWELVE_HOME": "/srv/twelve"})
    assert s.home == Path("/srv/twelve")
    assert s.api_bind == Bind("127.0.0.1", 7700)
    assert s.router_bind == Bind("127.0.0.1", 8080)
    assert s.domain == "localhost"
    assert s.stop_timeout == 30.0
    assert s.boot_timeout == 60.0
    assert s.api_token is None
    assert s.log_max_bytes == 10 << 20 and s.log_files == 5


def test_home_defaults_to_dot_twelve_in_the_users_home() -> None:
    assert Settings.from_environ({}).home == Path.home() / ".twelve"


def test_only_twelve_variables_are_kept() -> None:
    s = Settings.from_environ({"TWELVE_DOMAIN": "apps.test", "SECRET": "x"})
    assert s.domain == "apps.test"
    assert "SECRET" not in s.environ


@pytest.mark.parametrize(
    ("text", "bind"),
    [
        ("0.0.0.0:80", Bind("0.0.0.0", 80)),
        ("9000", Bind("127.0.0.1", 9000)),
        ("[::1]:0", Bind("::1", 0)),
    ],
)
def test_binds_accept_host_port_bare_port_and_ipv6(text: str, bind: Bind) -> None:
    assert parse_bind("TWELVE_API_BIND", text) == bind


@pytest.mark.parametrize(
    "text", ["localhost", "host:99999", "host:http", "²", "host:8²", "[::1]:²"]
)
def test_a_bad_bind_names_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="TWELVE_ROUTER_BIND"):
        Settings.from_environ({"TWELVE_ROUTER_BIND": text})


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TWELVE_STOP_TIMEOUT"):
        Settings.from_environ({"TWELVE_STOP_TIMEOUT": "soon"})


@pytest.mark.parametrize(
    ("text", "size"), [("512", 512), ("10K", 10240), ("10MiB", 10 << 20), ("1G", 1 << 30)]
)
def test_sizes_take_binary_units(text: str, size: int) -> None:
    assert parse_size("TWELVE_LOG_MAX_BYTES", text) == size


def test_the_router_yields_to_apps_unless_told_not_to() -> None:
    assert Settings.from_environ({}).router_sched_batch is True
    assert Settings.from_environ({"TWELVE_ROUTER_SCHED_BATCH": "0"}).router_sched_batch is False
    with pytest.raises(ConfigError, match="TWELVE_ROUTER_SCHED_BATCH='sometimes'"):
        Settings.from_environ({"TWELVE_ROUTER_SCHED_BATCH": "sometimes"})


def test_preloaded_libraries_are_absolute_paths_of_files(tmp_path: Path) -> None:
    one, two = tmp_path / "libone.so", tmp_path / "libtwo.so"
    one.write_bytes(b"")
    two.write_bytes(b"")
    s = Settings.from_environ({"TWELVE_ROUTER_PRELOAD": f"{one}:{two} {one}"})
    assert s.router_preload == (str(one), str(two), str(one))
    assert Settings.from_environ({}).router_preload == ()
    assert Settings.from_environ({}).router_sanitized is False


@pytest.mark.parametrize("text", ["libasan.so", "/nonexistent/libasan.so.8"])
def test_a_preload_that_is_no_file_names_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match=r"TWELVE_ROUTER_PRELOAD names '.*', which is not a file"):
        Settings.from_environ({"TWELVE_ROUTER_PRELOAD": text})
