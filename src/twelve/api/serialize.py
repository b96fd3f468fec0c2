"""JSON shapes of the API's resources."""

from __future__ import annotations

import time
from typing import Any

from twelve.store import Release
from twelve.supervisor.oneoffs import OneOff
from twelve.supervisor.process import Supervised


def release_json(release: Release) -> dict[str, Any]:
    return {
        "version": release.version,
        "description": release.description,
        "commit": release.commit,
        "build_id": release.build_id,
        "created_at": release.created_at,
        "config_keys": sorted(release.config),
        "process_types": list(release.procfile),
    }


def process_json(proc: Supervised) -> dict[str, Any]:
    child = proc.child
    running = child is not None and child.returncode is None
    return {
        "name": proc.spec.name,
        "type": proc.spec.type,
        "state": proc.state.value,
        "release": proc.spec.release,
        "command": proc.spec.command,
        "pid": child.pid if running and child else None,
        "port": proc.port if running else None,
        "uptime": round(time.monotonic() - proc.started_at, 1) if running else None,
        "restarts": proc.restarts,
        "last_exit": proc.last_exit,
        "next_attempt_at": proc.next_attempt,
    }


def oneoff_json(oneoff: OneOff) -> dict[str, Any]:
    """A one-off in ``ps``, in the same shape as a formation's process."""
    running = oneoff.running.returncode is None
    return {
        "name": oneoff.name,
        "type": oneoff.name.split(".")[0],
        "state": "up" if running else "complete",
        "release": oneoff.release,
        "command": oneoff.command,
        "pid": oneoff.pid if running else None,
        "port": None,
        "uptime": round(time.time() - oneoff.started_at, 1) if running else None,
        "restarts": 0,
        "last_exit": None,
        "next_attempt_at": None,
        "attached": oneoff.kind == "attached",
    }
