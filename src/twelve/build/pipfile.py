"""Pipfile.lock → requirements lines, so uv installs exactly what pipenv locked. Pure."""

from __future__ import annotations

import json
from typing import Any

from twelve.errors import BuildError


def _line(name: str, spec: dict[str, Any]) -> str:
    extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
    if "git" in spec:
        ref = f"@{spec['ref']}" if spec.get("ref") else ""
        requirement = f"{name}{extras} @ git+{spec['git']}{ref}"
    elif "file" in spec or "path" in spec:
        requirement = f"{name}{extras} @ {spec.get('file') or spec.get('path')}"
    else:
        requirement = f"{name}{extras}{spec.get('version', '')}"
    markers = spec.get("markers")
    return f"{requirement}; {markers}" if markers else requirement


def pipfile_requirements(text: str) -> str:
    """The ``default`` packages of a Pipfile.lock as a requirements file (develop is left out)."""
    try:
        lock = json.loads(text)
        packages = lock.get("default", {})
    except (ValueError, AttributeError):
        raise BuildError(
            "Pipfile.lock is not valid JSON", "run 'pipenv lock' and commit it"
        ) from None
    if not isinstance(packages, dict):
        raise BuildError(
            "Pipfile.lock has no 'default' packages", "run 'pipenv lock' and commit it"
        )
    lines = [_line(name, spec) for name, spec in sorted(packages.items()) if isinstance(spec, dict)]
    return "".join(line + "\n" for line in lines)
