"""The error codes the router answers with and logs, each documented in docs/router.md. Pure.

Codes H10 to H28 keep the meaning Heroku's router gives them, so what users already know carries
over (H80 too); H40 to H45 are twelve's own (requests refused before any app sees them).
"""

from __future__ import annotations

from dataclasses import dataclass

_REASONS = {
    200: "OK",
    308: "Permanent Redirect",
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    499: "Client Closed Request",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True, slots=True)
class RouterError:
    """One error the router reports: its code, the status it answers with and a short description."""

    code: str
    status: int
    desc: str
    # An answer of the router's own that is no error (an ACME challenge, a redirect, see
    # ``edge``): its extra header lines and its body, sent instead of the error page.
    headers: str = ""
    body: bytes | None = None

    def response(self, request_id: bytes, close: bool, head_only: bool = False) -> bytes:
        """The full HTTP/1.1 response the client gets: a small plain-text page naming the code.

        An answer to HEAD has the page's headers and no body (RFC 9110 section 9.3.2): a client
        reads none, so a body would be taken for the next response on its connection.
        """
        rid = request_id.decode("ascii")
        if self.body is not None:
            return (
                f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'OK')}\r\n"
                f"{self.headers}Content-Length: {len(self.body)}\r\n"
                f"X-Request-Id: {rid}\r\n"
                "Cache-Control: no-store\r\n"
                "Via: 1.1 twelve\r\n"
                f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
            ).encode("latin-1") + (b"" if head_only else self.body)
        body = (
            f"{self.status} {_REASONS.get(self.status, 'Error')}\n"
            f"{self.code}: {self.desc}\n"
            f"request id: {rid}\n"
            "See the router error codes in twelve's documentation.\n"
        ).encode()
        head = (
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Error')}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Twelve-Error: {self.code}\r\n"
            f"X-Request-Id: {rid}\r\n"
            "Cache-Control: no-store\r\n"
            "Via: 1.1 twelve\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        ).encode()
        return head if head_only else head + body


APP_CRASHED = RouterError("H10", 503, "App crashed")
REQUEST_TIMEOUT = RouterError("H12", 504, "Request timeout")
CONNECTION_CLOSED = RouterError("H13", 502, "Connection closed without response")
NO_WEB_PROCESSES = RouterError("H14", 503, "No web processes running")
IDLE_CONNECTION = RouterError("H15", 504, "Idle connection")
BAD_RESPONSE = RouterError("H17", 502, "Poorly formatted HTTP response")
SERVER_INTERRUPTED = RouterError("H18", 502, "Server request interrupted")
CONNECT_TIMEOUT = RouterError("H19", 503, "Backend connection timeout")
CLIENT_INTERRUPTED = RouterError("H27", 499, "Client request interrupted")
CLIENT_IDLE = RouterError("H28", 408, "Client connection idle")
BAD_REQUEST = RouterError("H40", 400, "Bad request")
HEADERS_TOO_LARGE = RouterError("H41", 431, "Request header too large")
BODY_TOO_LARGE = RouterError("H42", 413, "Request body too large")
UNKNOWN_HOST = RouterError("H43", 404, "No such app")
BAD_VERSION = RouterError("H44", 505, "HTTP version not supported")
UNKNOWN_CODING = RouterError("H45", 501, "Transfer coding not implemented")
MAINTENANCE = RouterError("H80", 503, "Maintenance mode")

ALL = (
    APP_CRASHED,
    REQUEST_TIMEOUT,
    CONNECTION_CLOSED,
    NO_WEB_PROCESSES,
    IDLE_CONNECTION,
    BAD_RESPONSE,
    SERVER_INTERRUPTED,
    CONNECT_TIMEOUT,
    CLIENT_INTERRUPTED,
    CLIENT_IDLE,
    BAD_REQUEST,
    HEADERS_TOO_LARGE,
    BODY_TOO_LARGE,
    UNKNOWN_HOST,
    BAD_VERSION,
    UNKNOWN_CODING,
    MAINTENANCE,
)
