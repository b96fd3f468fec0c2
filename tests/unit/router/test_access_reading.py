"""The daemon reads the router's access lines without a JSON parser, exactly as JSON would."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from twelve.router import codes
from twelve.router.accesslog import event_line, split_access_line
from twelve.router.hotpath import INFO, access_line_py, error_at
from twelve.router.messages import log_safe

_FIELD = st.binary(max_size=60).map(log_safe)


@given(
    app=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    path=st.binary(max_size=80),
    fields=st.lists(_FIELD, min_size=4, max_size=4),
    numbers=st.lists(st.integers(0, 10**12), min_size=4, max_size=4),
    error=st.sampled_from([None, codes.UNKNOWN_HOST, codes.APP_CRASHED, codes.REQUEST_TIMEOUT]),
)
def test_every_line_the_router_writes_is_read_as_json_reads_it(app, path, fields, numbers, error):
    at = INFO if error is None else error_at(error)
    host, request_id, fwd, dyno = fields
    raw = access_line_py(
        json.dumps(app).encode(), at, b"GET", path, host, request_id, fwd, dyno, *numbers
    ).rstrip(b"\n")
    parsed = json.loads(raw)
    assert split_access_line(raw) == (parsed["app"], parsed["line"])


def _json_reading(raw: bytes) -> tuple[str, str] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not (isinstance(value, dict) and set(value) == {"app", "line"}):
        return None
    app, line = value["app"], value["line"]
    return (app, line) if isinstance(app, str) and isinstance(line, str) else None


_PIECES = st.sampled_from(
    [
        b'{"app": "',
        b'", "line": "',
        b'"}',
        b"\\",
        b'"',
        b"\\n",
        b"\t",
        b"x",
        b" ",
        b"\xc3\xa9",
        b",",
    ]
)


@settings(max_examples=1000)
@given(raw=st.lists(_PIECES, max_size=12).map(b"".join))
@example(raw=b'{"app": "", "line": "}')
@example(raw=b'{"app": "a", "line": "b", "c": "d"}')
@example(raw=b'{"app": "a", "line": "\\\\"}')
@example(raw=b'{"app": "a", "line": "x\\u0041"}')
def test_a_line_is_read_as_json_would_or_left_to_json(raw):
    """Whatever the bytes, the shortcut never reads a line differently from JSON."""
    read = split_access_line(raw)
    assert read is None or read == _json_reading(raw)


def test_events_are_left_to_json():
    raw = event_line("listening", address="127.0.0.1:80", compiled=True).rstrip(b"\n")
    assert split_access_line(raw) is None
