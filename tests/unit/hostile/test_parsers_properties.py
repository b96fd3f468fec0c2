"""Any input to the parsers of user-written files and arguments gives a value or a clear error
(with the line number where the format has lines), never another exception."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from twelve.appspec.appjson import parse_app_json
from twelve.appspec.dotenv import format_dotenv, parse_assignments, parse_dotenv
from twelve.appspec.formation import MAX_QUANTITY, parse_scale_args
from twelve.appspec.names import (
    validate_app_name,
    validate_config_key,
    validate_domain,
    validate_git_ref,
    validate_git_url,
    validate_process_type,
)
from twelve.appspec.procfile import parse_procfile
from twelve.errors import SpecError, TwelveError, UsageError

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
# Text a hostile file is made of: separators, quotes, escapes, NUL and Unicode line breaks.
TRICKY = st.text(alphabet="\n\r\t \x00\x85\u2028#='\"\\$:.-_/aZ09é", max_size=60)
LINE = st.one_of(
    ANY_TEXT,
    TRICKY,
    st.from_regex(r"(export )?[A-Za-z_][A-Za-z0-9_]{0,8} ?= ?.{0,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{1,6}: ?.{0,20}", fullmatch=True),
    st.from_regex(r"[A-Z]{1,4}=\"[^\"]{0,10}", fullmatch=True),  # an unterminated quote
)
FILES = st.lists(LINE, max_size=12).map("\n".join)


def line_number(message: str, filename: str) -> int:
    match = re.match(rf"{re.escape(filename)}:(\d+): ", message)
    assert match, message
    return int(match.group(1))


@settings(max_examples=400)
@given(FILES)
def test_a_procfile_parses_or_names_the_bad_line(text: str) -> None:
    try:
        procfile = parse_procfile(text)
    except SpecError as exc:
        assert 1 <= line_number(exc.message, "Procfile") <= text.count("\n") + 1
        assert "\n" not in exc.message
    else:
        for kind, command in procfile.processes.items():
            assert validate_process_type(kind) == kind
            assert command.strip() and "\x00" not in command and "\n" not in command


@settings(max_examples=400)
@given(FILES)
def test_a_dotenv_file_parses_or_names_the_bad_line(text: str) -> None:
    try:
        values = parse_dotenv(text)
    except SpecError as exc:
        assert 1 <= line_number(exc.message, ".env") <= text.count("\n") + 1
    else:
        for key, value in values.items():
            assert validate_config_key(key) == key
            assert "\x00" not in value, "a NUL cannot reach a process environment"


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
        st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
        max_size=6,
    )
)
def test_any_config_survives_a_round_trip_through_a_dotenv_file(config: dict[str, str]) -> None:
    assert parse_dotenv(format_dotenv(config)) == config


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["/", "/health", "secret", "web", "-1", "1e999"]),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
KEYS = ["env", "formation", "scripts", "healthchecks", "quantity", "value", "generator",
        "required", "postdeploy", "command", "path", "timeout", "attempts", "initialDelay",
        "web", "worker", "DATABASE_URL"]  # fmt: skip
# Documents shaped like app.json, so the parser's inner checks are reached, not only the first.
APP_JSON_LIKE = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=16,
)


@settings(max_examples=600)
@given(
    st.one_of(
        ANY_TEXT,
        JSON_VALUE.map(json.dumps),
        APP_JSON_LIKE.map(json.dumps),
        st.integers(1, 5000).map(lambda depth: "[" * depth + "]" * depth),
        st.sampled_from(['{"env": {"A": {"value": "\\ud800"}}}', '{"env": {"A": "a\\u0000"}}']),
    )
)
def test_app_json_parses_or_says_what_is_wrong(text: str) -> None:
    try:
        spec = parse_app_json(text)
    except SpecError as exc:
        assert exc.message.startswith("app.json"), exc.message
        if "not valid JSON" in exc.message:
            assert re.search(r"line \d+ column \d+", exc.message), exc.message
    else:
        for kind, quantity in spec.formation.items():
            assert validate_process_type(kind) == kind and 0 <= quantity <= MAX_QUANTITY
        for var in spec.env:
            assert validate_config_key(var.name) == var.name
            assert var.value is None or (var.value.encode() and "\x00" not in var.value)


ARGS = st.lists(
    st.one_of(ANY_TEXT, TRICKY, st.from_regex(r"[a-z]{1,5}[=:][0-9]{1,25}", fullmatch=True)),
    max_size=4,
)


@settings(max_examples=400)
@given(ARGS)
def test_scale_arguments_are_a_formation_or_a_usage_error(args: list[str]) -> None:
    try:
        wanted = parse_scale_args(args)
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message.replace(repr("\n")[1:-1], "")
    else:
        for kind, count in wanted.items():
            assert validate_process_type(kind) == kind and 0 <= count <= MAX_QUANTITY


@settings(max_examples=400)
@given(
    st.lists(
        st.one_of(ANY_TEXT, TRICKY, st.from_regex(r"[A-Z_]{1,6}=.{0,10}", fullmatch=True)),
        max_size=4,
    )
)
def test_config_arguments_are_assignments_or_a_usage_error(args: list[str]) -> None:
    try:
        config = parse_assignments(args)
    except UsageError:
        return
    assert all(validate_config_key(key) == key for key in config)


def _accepted(validate: Any, text: str) -> str | None:
    try:
        value: str = validate(text)
    except TwelveError:
        return None
    return value


@settings(max_examples=500)
@given(st.one_of(ANY_TEXT, TRICKY, st.from_regex(r"[a-z][a-z0-9.-]{0,40}", fullmatch=True)))
def test_names_that_become_paths_or_hosts_cannot_leave_their_place(text: str) -> None:
    home = PurePosixPath("/srv/twelve/apps")
    for validate in (validate_app_name, validate_process_type, validate_config_key):
        name = _accepted(validate, text)
        if name is not None:
            # One path component below its parent, and one DNS label: never ``..``, ``/`` or ``.``.
            assert (home / name).parent == home and name not in {".", ".."}
            assert "." not in name and "/" not in name
            assert name.isascii() and name.isprintable() and not any(c.isspace() for c in name)
    domain = _accepted(validate_domain, text)
    if domain is not None:
        labels = domain.split(".")
        assert len(labels) >= 2 and all(re.fullmatch(r"[a-z0-9-]{1,63}", p) for p in labels)
        assert not any(p.startswith("-") or p.endswith("-") for p in labels)
        assert domain.isascii() and domain.isprintable() and " " not in domain


@settings(max_examples=400)
@given(
    st.one_of(
        ANY_TEXT,
        TRICKY,
        st.sampled_from(["https://", "ssh://", "git@", "-", "file://"]).flatmap(
            lambda prefix: ANY_TEXT.map(lambda rest: prefix + rest)
        ),
    )
)
def test_git_sources_are_remote_urls_never_options_or_local_paths(text: str) -> None:
    url = _accepted(validate_git_url, text)
    if url is not None:
        assert not url.startswith(("-", "/", "file:", "ext:")) and not any(c.isspace() for c in url)
    ref = _accepted(validate_git_ref, text)
    if ref is not None:
        assert not ref.startswith("-") and ".." not in ref and not any(c.isspace() for c in ref)


# The other way round: what each validator's hint describes is accepted, so a validator that
# refused everything would fail here.
@settings(max_examples=300)
@given(
    st.from_regex(r"[a-z](-?[a-z0-9]){0,14}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{1,63}", fullmatch=True),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,40}", fullmatch=True),
)
def test_names_that_follow_the_rules_are_accepted(app: str, kind: str, key: str) -> None:
    assert validate_app_name(app) == app
    assert validate_process_type(kind) == kind
    assert validate_config_key(key) == key


@settings(max_examples=300)
@given(
    st.lists(
        st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True), min_size=2, max_size=5
    ),
    st.sampled_from(["", ".", "  "]),
)
def test_hostnames_are_accepted_lowercased(labels: list[str], trailing: str) -> None:
    domain = ".".join(labels)
    assert validate_domain(domain.upper() + trailing) == domain


@settings(max_examples=300)
@given(
    st.sampled_from(["https://", "http://", "ssh://", "git://"]),
    st.from_regex(r"[a-z0-9.-]{1,20}/[A-Za-z0-9._/-]{1,40}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,40}", fullmatch=True).filter(
        lambda r: ".." not in r
    ),
)
def test_remote_git_urls_and_refs_are_accepted(scheme: str, rest: str, ref: str) -> None:
    assert validate_git_url(scheme + rest) == scheme + rest
    scp_like = f"git@{rest.partition('/')[0]}:{rest}"
    assert validate_git_url(scp_like) == scp_like
    assert validate_git_ref(ref) == ref
