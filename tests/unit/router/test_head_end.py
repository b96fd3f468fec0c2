"""Where a HEAD response's head ends, read off what the parser accepted (``upstream.head_end``):
anything after it is not a response to any request, and the connection is not used again."""

from __future__ import annotations

from twelve.router.upstream import head_end

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"


def test_a_head_ends_at_its_first_empty_line():
    assert head_end(HEAD, 1) == len(HEAD)
    assert head_end(HEAD + b"junk", 1) == len(HEAD)


def test_interim_heads_before_the_final_one_are_counted():
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
    assert head_end(interim + HEAD, 2) == len(interim) + len(HEAD)
    assert head_end(interim + HEAD + b"HTTP/1.1 200 OK\r\n", 2) == len(interim) + len(HEAD)


def test_empty_lines_before_a_head_belong_to_it():
    assert head_end(b"\r\n\r\n" + HEAD, 1) == 4 + len(HEAD)


def test_a_head_not_all_there_ends_with_the_data():
    assert head_end(HEAD[:-2], 1) == len(HEAD) - 2
