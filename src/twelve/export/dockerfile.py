"""A Dockerfile that replays the release's build: the builder's own steps, rendered for an image.

The RUN lines are the build plan the builder ran (``twelve.build.plan``), with the image's paths
in place of the host's, so ``docker build`` of the release's commit gives the same slug.
"""

from __future__ import annotations

import json

from twelve.export.spec import BuildStep, ReleaseSpec

APP_DIR = "/app"
VENV = "/venv"
CONFIG_MOUNT = "/run/secrets/app-config"


def image_values(spec: ReleaseSpec) -> dict[str, str]:
    """What the plan's placeholders mean inside the image."""
    python = f"/usr/local/bin/python{spec.python.rsplit('.', 1)[0]}" if spec.python else "python3"
    return {
        "app": APP_DIR,
        "venv": VENV,
        "uv": "uv",
        "python": python,
        "pipfile_requirements": "/tmp/pipfile-requirements.txt",
    }


def rendered_steps(spec: ReleaseSpec) -> list[list[str]]:
    """The build's commands as the image runs them (exec form, step env first via ``env``)."""
    values = image_values(spec)
    commands = []
    for step in spec.steps:
        argv = [a.format(**values) for a in step.argv]
        env = [f"{k}={v.format(**values)}" for k, v in step.env]
        commands.append(["env", *env, *argv] if env else argv)
    return commands


def _base_image(spec: ReleaseSpec) -> str:
    if spec.builder == "python":
        minor = spec.python.rsplit(".", 1)[0] if spec.python else "3.12"
        return f"python:{minor}-slim"
    if spec.builder == "node":
        return "node:20-slim"
    return "debian:bookworm-slim"


def _run_line(step: BuildStep, command: list[str]) -> str:
    if step.with_app_config:
        # The step needs the app's config (Django's collectstatic): a build secret, never a layer.
        wrapped = ["sh", "-c", f'set -a && . {CONFIG_MOUNT} && exec "$@"', "sh", *command]
        return f"RUN --mount=type=secret,id=app-config,target={CONFIG_MOUNT} {json.dumps(wrapped)}"
    return f"RUN {json.dumps(command)}"


def render_dockerfile(spec: ReleaseSpec) -> str:
    """The Dockerfile text."""
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# {spec.app} {spec.label}: the {spec.builder} build twelve ran, step for step.",
        f"FROM {_base_image(spec)}",
        f"WORKDIR {APP_DIR}",
        "ENV PYTHONUNBUFFERED=1 LANG=C.UTF-8",
    ]
    if spec.builder == "python":
        lines += [
            f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH WEB_CONCURRENCY=2",
            "ENV UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_NO_CACHE=1",
            'RUN ["pip", "install", "--no-cache-dir", "uv"]',
        ]
    if spec.builder == "node":
        lines.append(f"ENV PATH={APP_DIR}/node_modules/.bin:$PATH")
    lines.append(f"COPY . {APP_DIR}")
    for step, command in zip(spec.steps, rendered_steps(spec), strict=True):
        lines.append(f"# {step.description}")
        lines.append(_run_line(step, command))
    if spec.commit:
        lines.append(f"ENV SOURCE_VERSION={spec.commit}")
    lines.append('CMD ["/bin/sh", "-c", "echo set the command per process type; exit 1"]')
    return "\n".join(lines) + "\n"


DOCKERIGNORE = """.git
.venv
venv
node_modules
__pycache__
.env
*.pyc
"""
