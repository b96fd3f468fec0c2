"""The pre-receive hook of an app's repository: deploy the pushed commit, or reject the push.

Runs under ``git http-backend`` inside a push. Its stdout reaches the pusher as ``remote:`` lines;
its exit status accepts (0) or rejects (1) the push. It starts on every push, so it uses only the
standard library's HTTP client: an HTTP library's import alone would add a tenth of a second.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

from twelve.errors import UsageError
from twelve.pushrefs import pick_deploy


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class RefusedError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _post_events(url: str, body: bytes, headers: dict[str, str]) -> Iterator[dict[str, object]]:
    """POST the archive; the deploy's events as the server streams them, one JSON line each."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        if response.status >= 400:
            raise RefusedError(response.status)
        if connection.sock is not None:
            connection.sock.settimeout(None)  # a build takes as long as it takes
        for raw in response:
            if raw.strip():
                yield json.loads(raw)
    finally:
        connection.close()


def main() -> int:
    url = os.environ.get("PUSH_DEPLOY_URL")
    token = os.environ.get("PUSH_DEPLOY_TOKEN")
    if not url or not token:
        say("twelve: this repository only accepts pushes through the twelve server")
        return 1
    updates = []
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    try:
        commit = pick_deploy(updates)
    except UsageError as exc:
        say(f"twelve: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
        return 1
    # Inside pre-receive the pushed objects are in quarantine; git's environment finds them.
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], capture_output=True, check=False
    )
    if archive.returncode != 0:
        say(
            f"twelve: could not read commit {commit[:7]}: {archive.stderr.decode(errors='replace')}"
        )
        return 1
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/x-tar",
        "X-Twelve-Commit": commit,
    }
    try:
        for event in _post_events(url, archive.stdout, headers):
            if event.get("event") == "output":
                say(str(event.get("line", "")))
            elif event.get("event") == "done":
                say(f"-----> Deployed {commit[:7]}: {event.get('url', '')}")
                return 0
            elif event.get("event") == "error":
                hint = f" ({event['hint']})" if event.get("hint") else ""
                say(f"twelve: push rejected: {event.get('message')}{hint}")
                return 1
    except RefusedError as exc:
        say(f"twelve: the server refused the deploy (HTTP {exc.status})")
        return 1
    except (OSError, http.client.HTTPException, ValueError) as exc:
        say(f"twelve: lost the connection to the server: {exc}")
        return 1
    say("twelve: the server ended the deploy without a result")
    return 1


if __name__ == "__main__":
    sys.exit(main())
