"""Any input to the parsers of user-written files gives a value or a clear error, never a crash."""

from __future__ import annotations

import contextlib
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from twelve.appspec.appjson import parse_app_json
from twelve.appspec.dotenv import format_dotenv, parse_assignments, parse_dotenv
from twelve.appspec.formation import parse_scale_args
from twelve.appspec.names import validate_app_name, validate_config_key, validate_domain
from twelve.appspec.procfile import parse_procfile
from twelve.errors import SpecError, TwelveError, UsageError

LINE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
LINES = st.lists(
    st.one_of(
        LINE_TEXT,
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}=.{0,20}", fullmatch=True),
        st.from_regex(r"[a-z]{1,6}: .{1,20}", fullmatch=True),
    ),
    max_size=12,
).map("\n".join)


@settings(max_examples=300)
@given(LINES)
def test_procfile_parses_or_names_the_line(text: str) -> None:
    try:
        procfile = parse_procfile(text)
    except SpecError as exc:
        assert re.match(r"Procfile:\d+: ", exc.message)
    else:
        assert all(cmd.strip() for cmd in procfile.processes.values())


@settings(max_examples=300)
@given(LINES)
def test_dotenv_parses_or_names_the_line(text: str) -> None:
    try:
        values = parse_dotenv(text)
    except SpecError as exc:
        assert re.match(r"\.env:\d+: ", exc.message)
    else:
        assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) for k in values)


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), LINE_TEXT, max_size=6
    )
)
def test_dotenv_round_trips_any_config(config: dict[str, str]) -> None:
    values = {k: v.replace("\r", "") for k, v in config.items()}
    assert parse_dotenv(format_dotenv(values)) == values


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.one_of(LINE_TEXT, JSONISH.map(repr), JSONISH.map(json.dumps)))
def test_app_json_parses_or_says_what_is_wrong(text: str) -> None:
    try:
        parse_app_json(text)
    except SpecError as exc:
        assert exc.message.startswith("app.json")


@settings(max_examples=300)
@given(st.lists(LINE_TEXT, max_size=4))
def test_scale_and_config_arguments_are_values_or_usage_errors(args: list[str]) -> None:
    for parse in (parse_scale_args, parse_assignments):
        with contextlib.suppress(UsageError):
            parse(args)


@settings(max_examples=300)
@given(LINE_TEXT)
def test_names_that_reach_paths_and_hosts_are_safe_or_refused(text: str) -> None:
    for validate in (validate_app_name, validate_config_key, validate_domain):
        try:
            value = validate(text)
        except TwelveError:
            continue
        assert (
            "/" not in value and ".." not in value.replace("..", "..")
        ) or validate is validate_domain
        assert "\x00" not in value and "/" not in value
