"""How lines leave for drains: RFC 5424 messages, octet-counted frames, logplex bodies. Pure.

A line ``2026-11-28T12:00:00.123456+00:00 app[web.1]: hi`` of app ``shop`` becomes::

    <190>1 2026-11-28T12:00:00.123456+00:00 shop app web.1 - - hi

(PRI 190 = facility local7, severity info; HOSTNAME the app; APP-NAME the source; PROCID the
process; no MSGID, no structured data), framed by octet counting (RFC 6587) as Heroku sends it:
``<byte length> <message>``, with no newline between frames. An HTTPS drain gets many frames in
one body, ``Content-Type: application/logplex-1`` and their number in ``Logplex-Msg-Count``.
"""

from __future__ import annotations

from collections.abc import Sequence

from twelve.logs.line import LogLine

PRI = 190
LOGPLEX_CONTENT_TYPE = "application/logplex-1"
_NIL = "-"


def header_field(value: str, limit: int) -> str:
    """A syslog header field: printable US-ASCII without spaces, at most ``limit`` characters."""
    cleaned = "".join(c if 33 <= ord(c) <= 126 else "_" for c in value[:limit])
    return cleaned or _NIL


def syslog_message(line: LogLine, hostname: str, pri: int = PRI) -> bytes:
    """One RFC 5424 message for ``line``, the app's name as HOSTNAME."""
    stamp = line.time.isoformat(timespec="microseconds")
    head = (
        f"<{pri}>1 {stamp} {header_field(hostname, 255)} {header_field(line.source, 48)} "
        f"{header_field(line.process, 128)} {_NIL} {_NIL} "
    )
    return (head + line.message).encode("utf-8", "replace")


def octet_frame(message: bytes) -> bytes:
    """``LEN SP MSG``: the octet-counting framing of syslog over a stream (RFC 6587 3.4.1)."""
    return b"%d %b" % (len(message), message)


def syslog_frames(lines: Sequence[LogLine], hostname: str) -> bytes:
    """The bytes a syslog drain writes to its connection for ``lines``."""
    return b"".join(octet_frame(syslog_message(line, hostname)) for line in lines)


def logplex_request(
    lines: Sequence[LogLine], hostname: str, frame_id: str
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one HTTPS drain POST, framed as Heroku's logplex does.

    ``frame_id`` names the batch; a retry of the same batch sends the same id so a receiver can
    drop the duplicate.
    """
    headers = {
        "Content-Type": LOGPLEX_CONTENT_TYPE,
        "Logplex-Msg-Count": str(len(lines)),
        "Logplex-Frame-Id": frame_id,
        "Logplex-Drain-Token": f"twelve.{header_field(hostname, 64)}",
        "User-Agent": "twelve-logplex",
    }
    return syslog_frames(lines, hostname), headers


def parse_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """Split octet-counted frames off ``data``; return the whole messages and the unused rest.

    The receiving side of ``octet_frame``, used by tests and by anyone checking what is sent.
    """
    messages: list[bytes] = []
    at = 0
    while True:
        space = data.find(b" ", at)
        if space < 0 or not data[at:space].isdigit():
            break
        end = space + 1 + int(data[at:space])
        if end > len(data):
            break
        messages.append(data[space + 1 : end])
        at = end
    return messages, data[at:]
