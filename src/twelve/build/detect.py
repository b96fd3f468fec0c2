"""Gather the facts a build plan needs from a source directory (reads files, nothing else)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from twelve.appspec.appjson import AppJson, parse_app_json
from twelve.appspec.procfile import Procfile, parse_procfile
from twelve.build.interpreters import parse_requested
from twelve.build.plan import SourceFacts
from twelve.errors import BuildError

_MARKERS = (
    "uv.lock",
    "pyproject.toml",
    "requirements.txt",
    "Pipfile.lock",
    "setup.py",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "Procfile",
    "bin/build",
    "app.json",
)


def _package_json(source: Path) -> dict[str, Any]:
    path = source / "package.json"
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(errors="replace"))
    except ValueError as exc:
        raise BuildError(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BuildError("package.json must hold a JSON object")
    return value


def node_version() -> str | None:
    """The machine's node version, or None when node is not installed."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().lstrip("v") or None


def _declares(source: Path, package: str) -> bool:
    """Whether a dependency file names ``package`` (a cheap look, as Heroku's buildpack does)."""
    for name in ("requirements.txt", "pyproject.toml", "uv.lock", "Pipfile.lock"):
        path = source / name
        if path.is_file() and package in path.read_text(errors="replace").lower():
            return True
    return False


def _pipfile_lock_python(source: Path) -> str | None:
    """The Python a Pipfile.lock asks for (``_meta.requires``: the full version, else the minor),
    which Heroku's buildpack uses when neither .python-version nor runtime.txt names one."""
    path = source / "Pipfile.lock"
    if not path.is_file():
        return None
    try:
        requires = json.loads(path.read_text(errors="replace"))["_meta"]["requires"]
    except (ValueError, KeyError, TypeError):
        return None
    for key in ("python_full_version", "python_version"):
        if isinstance(requires, dict) and isinstance(requires.get(key), str):
            return str(requires[key])
    return None


def gather_facts(source: Path, config: dict[str, str] | None = None) -> SourceFacts:
    """Which marker files exist, which Python or node the app asks for, its npm scripts."""
    files = frozenset(m for m in _MARKERS if (source / m).is_file())
    request = None
    version_file = None
    for name in (".python-version", "runtime.txt"):
        path = source / name
        if path.is_file():
            request = parse_requested(path.read_text(errors="replace"), name)
            version_file = name
            break
    else:
        pipenv = _pipfile_lock_python(source)
        if pipenv is not None:
            request, version_file = parse_requested(pipenv, "Pipfile.lock"), "Pipfile.lock"
    build_script = source / "bin" / "build"
    package = _package_json(source)
    engines = package.get("engines")
    scripts = package.get("scripts")
    engine = engines.get("node") if isinstance(engines, dict) else None
    return SourceFacts(
        files=files,
        npm_scripts=frozenset(scripts) if isinstance(scripts, dict) else frozenset(),
        node_engine=engine if isinstance(engine, str) else None,
        node_version=node_version() if package else None,
        strict_engines=(config or {}).get("TWELVE_STRICT_ENGINES") == "1",
        django=(source / "manage.py").is_file() and _declares(source, "django"),
        disable_collectstatic=(config or {}).get("DISABLE_COLLECTSTATIC") == "1",
        node_env=(config or {}).get("NODE_ENV"),
        python_version_file=version_file,
        python_request=request,
        build_script_executable=build_script.is_file() and os.access(build_script, os.X_OK),
    )


def read_procfile(source: Path) -> Procfile:
    """The app's Procfile; an app with none is an error (except Node, which has npm start)."""
    path = source / "Procfile"
    if not path.is_file():
        if (source / "package.json").is_file():
            return Procfile({"web": "npm start"})
        raise BuildError("the app has no Procfile", "add one, e.g. 'web: gunicorn app:app'")
    return parse_procfile(path.read_text(errors="replace"), "Procfile")


def read_app_json(source: Path) -> AppJson:
    """The app's app.json, or an empty one when it has none."""
    path = source / "app.json"
    if not path.is_file():
        return AppJson()
    return parse_app_json(path.read_text(errors="replace"))
