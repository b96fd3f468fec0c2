"""A Dockerfile that replays the release's build: the builder's own steps, rendered for an image.

The RUN lines after the preparation are the build plan the builder ran (``twelve.build.plan``,
recorded with the build), with the image's paths in place of the host's, so ``docker build`` of
the release's commit gives the same slug: same interpreter, same lock file, same commands.
"""

from __future__ import annotations

import json

from twelve.dyno_defaults import buildpack_defaults
from twelve.export.spec import BuildStep, ReleaseSpec
from twelve.values import Limits

APP_DIR = "/app"
VENV = "/venv"
PIPFILE_REQUIREMENTS = "/tmp/pipfile-requirements.txt"
CONFIG_MOUNT = "/run/secrets/app-config"
CONFIG_FILE = "app-config.json"  # written beside the Dockerfile when a step needs the config
# Runs one command with the app's config (a JSON object) added to its environment.
CONFIG_LOADER = (
    "import json, os, sys; env = {**os.environ, **json.load(open(sys.argv[1]))}; "
    "os.execvpe(sys.argv[2], sys.argv[2:], env)"
)
# The build environment twelve gives every step (supervisor/environment.py), as build arguments
# so they do not stay in the image.
BUILD_ARGS = ("UV_PYTHON_DOWNLOADS=never", "UV_LINK_MODE=copy", "UV_NO_CACHE=1", "CI=true")

_IGNORED = (
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    "*.pyc",
    ".env",
    # An export written inside the source must never reach an image: it holds the config.
    "k8s-*",
    "**/app-config.json",
    "**/[0-9][0-9]-secret-*.yaml",
)


def dockerignore(directory: str) -> str:
    """The build context's ignore file; ``directory`` (where the export is) is left out too."""
    name = directory.rstrip("/").rsplit("/", 1)[-1]
    extra = (name,) if name and name not in (".", "..") and name not in _IGNORED else ()
    return "".join(f"{pattern}\n" for pattern in (*_IGNORED, *extra))


def image_values(spec: ReleaseSpec) -> dict[str, str]:
    """What the plan's placeholders mean inside the image."""
    python = f"/usr/local/bin/python{_minor(spec.python)}" if spec.python else "python3"
    return {
        "app": APP_DIR,
        "venv": VENV,
        "uv": "uv",
        "python": python,
        "pipfile_requirements": PIPFILE_REQUIREMENTS,
    }


def rendered_steps(spec: ReleaseSpec) -> list[list[str]]:
    """The build's commands as the image runs them (exec form, a step's env first via ``env``)."""
    values = image_values(spec)
    commands = []
    for step in spec.steps:
        argv = [a.format(**values) for a in step.argv]
        env = [f"{k}={v.format(**values)}" for k, v in step.env]
        commands.append(["env", *env, *argv] if env else argv)
    return commands


def needs_app_config(spec: ReleaseSpec) -> bool:
    """Whether a build step runs with the app's config (Django's collectstatic)."""
    return any(step.with_app_config for step in spec.steps)


def base_image(spec: ReleaseSpec) -> str:
    """The interpreter the build used: ``python:3.12-slim``, ``node:20-slim``."""
    if spec.builder == "python":
        return f"python:{_minor(spec.python) if spec.python else '3'}-slim"
    if spec.builder == "node":
        major = spec.node.lstrip("v").split(".", 1)[0] if spec.node else "lts"
        return f"node:{major}-slim"
    return "debian:stable-slim"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _run_line(spec: ReleaseSpec, step: BuildStep, command: list[str]) -> str:
    if step.with_app_config:
        # The config comes in as a build secret, never as a layer of the image.
        loader = [image_values(spec)["python"], "-c", CONFIG_LOADER, CONFIG_MOUNT, *command]
        mount = f"--mount=type=secret,id=app-config,target={CONFIG_MOUNT},required=true"
        return f"RUN {mount} {json.dumps(loader)}"
    return f"RUN {json.dumps(command)}"


def _preparation(spec: ReleaseSpec) -> list[str]:
    """What twelve's machine has before the plan runs: uv, and a Pipfile.lock's requirements."""
    lines: list[str] = []
    if spec.builder == "python":
        lines.append('RUN ["pip", "install", "--no-cache-dir", "--root-user-action=ignore", "uv"]')
    if any("{pipfile_requirements}" in a for step in spec.steps for a in step.argv):
        # twelve turns Pipfile.lock into requirements before the plan runs; pipenv does it here.
        convert = f"uv tool run pipenv requirements > {PIPFILE_REQUIREMENTS}"
        lines.append(f"RUN {json.dumps(['sh', '-c', convert])}")
    return lines


def dyno_defaults(spec: ReleaseSpec, process_type: str = "web") -> dict[str, str]:
    """What Heroku's buildpacks set for a dyno of this type, as twelve's own processes get it."""
    limit = spec.limits.get(process_type) or {}
    limits = Limits(
        memory=int(limit.get("memory") or 0) or None, cpu=float(limit.get("cpu") or 0) or None
    )
    return buildpack_defaults(
        python=spec.builder == "python",
        node=spec.builder == "node",
        workdir=APP_DIR,
        limits=limits,
        config=spec.config,
    )


def render_dockerfile(spec: ReleaseSpec) -> str:
    """The Dockerfile text."""
    interpreter = f" (Python {spec.python})" if spec.python else ""
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# {spec.app} {spec.label}: the {spec.builder} build twelve ran{interpreter}, step by step.",
        f"FROM {base_image(spec)}",
        *(f"ARG {arg}" for arg in BUILD_ARGS),
        f"WORKDIR {APP_DIR}",
        "ENV PYTHONUNBUFFERED=1 LANG=C.UTF-8",
    ]
    defaults = dyno_defaults(spec)
    if spec.builder == "python":
        # The process environment of supervisor/environment.py; config vars override it.
        concurrency = defaults.pop("WEB_CONCURRENCY")
        lines.append(f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH WEB_CONCURRENCY={concurrency}")
    if spec.builder == "node":
        lines.append(f"ENV PATH={APP_DIR}/node_modules/.bin:$PATH")
    if defaults:
        lines.append("ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in defaults.items()))
    lines.append(f"COPY . {APP_DIR}")
    lines += _preparation(spec)
    for step, command in zip(spec.steps, rendered_steps(spec), strict=True):
        lines.append(f"# {step.description}")
        lines.append(_run_line(spec, step, command))
    if spec.commit:
        lines.append(f"ENV SOURCE_VERSION={spec.commit}")
    default = spec.procfile.get("web") or next(iter(spec.procfile.values()), "exit 1")
    # Each Deployment names its own command; this one is for a plain `docker run`.
    lines.append(f"CMD {json.dumps(['/bin/sh', '-c', default])}")
    return "\n".join(lines) + "\n"


def build_config_file(spec: ReleaseSpec) -> str:
    """The config the build steps that need it read (a BuildKit secret), as JSON."""
    return json.dumps(spec.config, indent=2, sort_keys=True) + "\n"
