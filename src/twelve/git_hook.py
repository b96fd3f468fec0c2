"""The pre-receive hook of an app's repository: deploy the pushed commit, or reject the push.

Runs under ``git http-backend`` inside a push. Its stdout reaches the pusher as ``remote:`` lines;
its exit status accepts (0) or rejects (1) the push.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from twelve.errors import UsageError
from twelve.gitpush import pick_deploy


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


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
        with (
            httpx.Client(timeout=httpx.Timeout(30.0, read=None)) as client,
            client.stream("POST", url, content=archive.stdout, headers=headers) as response,
        ):
            if response.status_code >= 400:
                say(f"twelve: the server refused the deploy (HTTP {response.status_code})")
                return 1
            for raw in response.iter_lines():
                if not raw.strip():
                    continue
                event = json.loads(raw)
                if event.get("event") == "output":
                    say(str(event.get("line", "")))
                elif event.get("event") == "done":
                    say(f"-----> Deployed {commit[:7]}: {event.get('url', '')}")
                    return 0
                elif event.get("event") == "error":
                    hint = f" ({event['hint']})" if event.get("hint") else ""
                    say(f"twelve: push rejected: {event.get('message')}{hint}")
                    return 1
    except httpx.HTTPError as exc:
        say(f"twelve: lost the connection to the server: {exc}")
        return 1
    say("twelve: the server ended the deploy without a result")
    return 1


if __name__ == "__main__":
    sys.exit(main())
