"""Where a response the framer passed on ends, read off its head (``hotpath.length_end``)."""

from __future__ import annotations

from twelve.router.hotpath import length_end

HEAD = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"


def test_one_content_length_gives_the_end_of_the_head_plus_the_body():
    start = HEAD + b"content-LENGTH:  12 \r\n\r\nhello"
    assert length_end(start) == start.index(b"\r\n\r\n") + 4 + 12


def test_no_end_when_the_head_cannot_say_it():
    assert length_end(HEAD + b"Content-Length: 5\r\n") is None  # the head is not all there
    assert length_end(HEAD + b"\r\n") is None  # no length: the body ends when the app closes
    assert length_end(HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n") is None
    assert length_end(HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") is None
    assert length_end(HEAD + b"Content-Length: 5x\r\n\r\n") is None


def test_a_length_in_the_body_is_not_read_as_the_heads():
    start = HEAD + b"Content-Length: 30\r\n\r\n\r\nContent-Length: 2\r\n"
    assert length_end(start) == start.index(b"\r\n\r\n") + 4 + 30
