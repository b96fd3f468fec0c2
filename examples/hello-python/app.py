"""A small web app: answers every request with a greeting from config."""

import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections under load (each retried a second later).
    request_queue_size = socket.SOMAXCONN
    daemon_threads = True


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        greeting = os.environ.get("GREETING", "hello")
        body = f"{greeting} from {os.environ.get('DYNO', 'web')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)


def main() -> None:
    port = int(os.environ["PORT"])
    server = Server(("127.0.0.1", port), Hello)
    # SIGTERM: stop accepting and exit cleanly, as a disposable process should.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on port {port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
