"""Whatever bytes a process writes become log messages: nothing dropped, nothing unbounded."""

from twelve.logs.line import MAX_LINE_BYTES, decode_output, utf8_cut


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    assert decode_output(b"ok \xff\xfe end\n") == ["ok \ufffd\ufffd end"]


def test_windows_line_endings_lose_their_carriage_return() -> None:
    assert decode_output(b"one\r\ntwo\n") == ["one", "two"]


def test_a_line_over_the_limit_is_split_without_cutting_a_character() -> None:
    text = "é" * MAX_LINE_BYTES  # two bytes each: 20 KiB
    pieces = decode_output(text.encode() + b"\n")
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= MAX_LINE_BYTES for p in pieces)
    assert "\ufffd" not in "".join(pieces)


def test_a_line_of_exactly_the_limit_stays_whole() -> None:
    assert decode_output(b"x" * MAX_LINE_BYTES) == ["x" * MAX_LINE_BYTES]


def test_utf8_cut_backs_off_to_a_character_start() -> None:
    data = "a€".encode()  # a, then a 3-byte character
    assert utf8_cut(data, 2) == 1
    assert utf8_cut(data, 4) == 4
    assert utf8_cut(b"\x80\x80\x80\x80\x80", 3) == 3  # not UTF-8 at all: cut where asked
