"""Pure pieces of the proxy: request ids, forwarded headers, log lines and error pages."""

from __future__ import annotations

import json
import re

from twelve.router import codes
from twelve.router.accesslog import event_line
from twelve.router.messages import (
    RequestIds,
    chunk,
    connection_tokens,
    drop_headers,
    forwarded_block,
    log_safe,
    nominated_headers,
    sane_request_id,
)


def test_a_sane_client_request_id_is_kept_and_an_unsafe_one_is_not():
    assert sane_request_id(b"abc-123_x.y:z") == b"abc-123_x.y:z"
    for bad in (b"", b"has space", b'quote"', b"x" * 201, b"semi;colon", b"\xff", b"ok\n"):
        assert sane_request_id(bad) is None


def test_generated_request_ids_look_like_uuids_and_never_repeat():
    """Ids stay unique and UUID-shaped across the points where the counter's high digits change."""
    ids = RequestIds()
    made = [ids.next() for _ in range(10_000)]  # crosses at least two 4096-id boundaries
    assert len(set(made)) == len(made)
    counters = [int(value[-12:], 16) for value in made]
    assert counters == [(counters[0] + i) & 0xFFFFFFFFFFFF for i in range(len(made))]
    for value in made[:10] + made[4090:4100]:
        assert re.fullmatch(
            rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}", value
        )


def test_forwarded_headers_name_the_client():
    block = forwarded_block(b"203.0.113.7, 127.0.0.1", b"http", b"8080")
    assert block == (
        b"X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
        b"X-Forwarded-Port: 8080\r\nVia: 1.1 twelve\r\n"
    )


def test_headers_named_in_connection_are_dropped():
    parts = [b"Host", b"a", b"X-Secret", b"1", b"Accept", b"*/*"]
    names = nominated_headers(connection_tokens(b"keep-alive, X-Secret"))
    assert names == {b"x-secret"}
    assert drop_headers(parts, names) == [b"Host", b"a", b"Accept", b"*/*"]
    assert nominated_headers(connection_tokens(b"close")) == set()


def test_log_fields_cannot_break_the_line_format():
    assert log_safe(b"/plain/path?x=1") == b"/plain/path?x=1"
    assert log_safe(b'/a"b\\c d') == b"/a%22b%5Cc%20d"
    assert log_safe("/é".encode()) == b"/%C3%A9"
    assert log_safe(b"/\x00\r\n\xff") == b"/%00%0D%0A%FF"
    assert len(log_safe(b"/" + b"x" * 5000)) < 2100


def test_error_pages_name_the_code_and_say_whether_the_connection_stays():
    page = codes.NO_WEB_PROCESSES.response(b"rid-9", close=False)
    head, _, body = page.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Connection: keep-alive" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"H14: No web processes running" in body
    assert b"rid-9" in body
    assert b"Connection: close" in codes.BAD_REQUEST.response(b"r", close=True)


def test_every_code_is_distinct():
    assert len({e.code for e in codes.ALL}) == len(codes.ALL)


def test_events_are_json_lines():
    assert json.loads(event_line("listening", address="127.0.0.1:8080")) == {
        "event": "listening",
        "address": "127.0.0.1:8080",
    }


def test_chunk_framing():
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    assert chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
