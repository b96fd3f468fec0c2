"""Lines reach syslog and HTTPS drains as RFC 5424 messages framed the way Heroku frames them."""

from datetime import UTC, datetime

from twelve.logs.line import LogLine
from twelve.logs.syslog_format import (
    header_field,
    logplex_request,
    octet_frame,
    parse_frames,
    syslog_frames,
    syslog_message,
)

TIME = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)


def test_a_line_becomes_an_rfc5424_message_naming_app_source_and_process() -> None:
    message = syslog_message(LogLine(TIME, "app", "web.1", "GET / 200"), "shop")
    assert message == b"<190>1 2026-11-28T12:00:00.123456+00:00 shop app web.1 - - GET / 200"


def test_header_fields_never_carry_spaces_or_control_characters() -> None:
    assert header_field("my app\t1", 48) == "my_app_1"
    assert header_field("", 48) == "-"
    assert header_field("é", 48) == "_"
    assert len(header_field("x" * 100, 48)) == 48


def test_octet_counting_counts_bytes_not_characters() -> None:
    frame = octet_frame("héllo".encode())
    assert frame == b"6 h\xc3\xa9llo"


def test_frames_follow_each_other_without_separators_and_parse_back() -> None:
    lines = [LogLine(TIME, "app", "web.1", f"line {i} ✓") for i in range(3)]
    data = syslog_frames(lines, "shop")
    messages, rest = parse_frames(data)
    assert rest == b""
    assert [m.decode().rsplit(" - - ", 1)[1] for m in messages] == [
        "line 0 ✓",
        "line 1 ✓",
        "line 2 ✓",
    ]


def test_a_cut_frame_is_left_for_the_next_read() -> None:
    data = syslog_frames(
        [LogLine(TIME, "app", "web.1", "one"), LogLine(TIME, "app", "web.1", "two")], "a"
    )
    messages, rest = parse_frames(data[:-2])
    assert len(messages) == 1
    assert parse_frames(rest + data[-2:])[0][0].endswith(b"two")


def test_logplex_request_counts_its_messages_in_a_header() -> None:
    lines = [LogLine(TIME, "router", "web.1", "at=info status=200")] * 4
    body, headers = logplex_request(lines, "shop", "frame-1")
    assert headers["Content-Type"] == "application/logplex-1"
    assert headers["Logplex-Msg-Count"] == "4"
    assert headers["Logplex-Frame-Id"] == "frame-1"
    messages, rest = parse_frames(body)
    assert len(messages) == 4 and rest == b""
    assert messages[0].startswith(b"<190>1 2026-11-28T12:00:00.123456+00:00 shop router web.1 ")
