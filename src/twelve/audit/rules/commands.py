"""The commands that start processes: Procfile entries, container starts, ``npm start``, and scripts
they run, so rules about start commands read them in one way."""

from __future__ import annotations

import json
import os

from twelve.audit.formats import Command
from twelve.audit.scan import Scan


def start_commands(scan: Scan, *, web_only: bool) -> list[tuple[str, Command]]:
    """(path, command) for each process start; without a Procfile, ``npm start`` and the Dockerfile."""
    found: list[tuple[str, Command]] = []
    if scan.procfile:
        found += [("Procfile", c) for c in scan.procfile if not web_only or c.name == "web"]
    else:
        script = _npm_start(scan)
        if script is not None:
            found.append(("package.json", script))
    for path, instructions in scan.dockerfiles.items():
        starts = [c for c in instructions if c.name in {"CMD", "ENTRYPOINT"}]
        found += [(path, c) for c in starts[-2:]]
    return found


def _npm_start(scan: Scan) -> Command | None:
    text = scan.text("package.json")
    if text is None:
        return None
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (json.JSONDecodeError, AttributeError):
        return None
    start = scripts.get("start")
    if not isinstance(start, str):
        return None
    line = next((n for n, raw in enumerate(text.splitlines(), 1) if '"start"' in raw), 0)
    return Command("start", start, line)


def script_lines(scan: Scan, words: list[str]) -> tuple[str, list[Command]] | None:
    """When a command runs a shell script of the repository, that script's lines."""
    candidates = words[1:2] if words and words[0] in {"sh", "bash"} else words[:1]
    for word in candidates:
        path = os.path.normpath(word).lstrip("./") if word else ""
        text = scan.text(path)
        if text is not None and not path.endswith((".py", ".js")):
            return path, [Command("sh", raw, n) for n, raw in enumerate(text.splitlines(), 1)]
    return None
