"""The Dockerfile replays the build twelve ran: same interpreter, same lock file, and RUN lines that
are the builder's own plan rendered for the image's paths, not a second hand-written copy."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from twelve.build.plan import SourceFacts, plan_build
from twelve.export.dockerfile import CONFIG_LOADER, CONFIG_MOUNT
from twelve.export.kubernetes import export_kubernetes
from twelve.export.spec import release_from_document
from unit.export.releases import build_runtime, document

PREPARATION = 'RUN ["pip", "install", "--no-cache-dir", "--root-user-action=ignore", "uv"]'


def export_of(facts: SourceFacts, builder: str, python: str | None = "3.11.7", **extra: Any) -> Any:
    doc = document(build={"builder": builder, "runtime": build_runtime(facts, python, **extra)})
    return export_kubernetes(release_from_document(doc), "registry.test/shop:v7", directory="out")


def run_commands(dockerfile: str) -> list[list[str]]:
    """Every RUN line as the argv it runs, a config-reading step unwrapped to its own command."""
    commands = []
    for line in dockerfile.splitlines():
        if not line.startswith("RUN "):
            continue
        words = line[4:]
        if words.startswith("--mount="):
            mount, words = words.split(" ", 1)
            assert f"target={CONFIG_MOUNT}" in mount and "type=secret" in mount
        argv = json.loads(words)
        if argv[1:4] == ["-c", CONFIG_LOADER, CONFIG_MOUNT]:
            argv = argv[4:]
        commands.append(argv)
    return commands


def plan_commands(facts: SourceFacts, values: dict[str, str]) -> list[list[str]]:
    """What the builder runs for these facts, rendered with ``values`` (as build/runner.py does)."""
    return [
        (["env", *(f"{k}={v}" for k, v in step.env)] if step.env else []) + list(step.argv)
        for step in plan_build(facts).render(values)
    ]


# Where the image keeps what the builder keeps in the slug, and the python:3.11 image's interpreter.
IMAGE_PATHS = {
    "app": "/app",
    "venv": "/venv",
    "uv": "uv",
    "python": "/usr/local/bin/python3.11",
    "pipfile_requirements": "/tmp/pipfile-requirements.txt",
}
PYTHON_APPS = {
    "uv.lock": SourceFacts(frozenset({"uv.lock", "pyproject.toml"})),
    "requirements.txt": SourceFacts(frozenset({"requirements.txt"})),
    "pyproject.toml": SourceFacts(frozenset({"pyproject.toml"})),
    "django": SourceFacts(frozenset({"requirements.txt", "manage.py"}), django=True),
    "bin/build": SourceFacts(
        frozenset({"requirements.txt", "bin/build"}), build_script_executable=True
    ),
}


@pytest.mark.parametrize("case", PYTHON_APPS)
def test_python_builds_run_the_builders_plan_on_the_same_python(case: str) -> None:
    facts = PYTHON_APPS[case]
    result = export_of(facts, "python")
    dockerfile = result.files["Dockerfile"]
    lines = dockerfile.splitlines()
    assert "FROM python:3.11-slim" in lines
    assert PREPARATION in lines  # uv from PyPI, as twelve's machine has it
    expected = plan_commands(facts, IMAGE_PATHS)
    assert run_commands(dockerfile)[1:] == expected
    assert expected[0][:4] == ["uv", "venv", "--quiet", "--python"]
    assert lines.index(PREPARATION) > lines.index("COPY . /app")


def test_the_uv_lock_is_installed_locked_into_the_images_virtualenv() -> None:
    commands = run_commands(export_of(PYTHON_APPS["uv.lock"], "python").files["Dockerfile"])
    assert commands[2][:3] == ["uv", "pip", "install"], "pip beside the locked packages"
    assert commands[3][:2] == ["env", "UV_PROJECT_ENVIRONMENT=/venv"]
    assert "--locked" in commands[3]


def test_the_image_has_twelves_process_environment() -> None:
    lines = export_of(PYTHON_APPS["uv.lock"], "python").files["Dockerfile"].splitlines()
    assert "ENV VIRTUAL_ENV=/venv PATH=/venv/bin:$PATH WEB_CONCURRENCY=2" in lines
    assert "ENV PYTHONUNBUFFERED=1 LANG=C.UTF-8" in lines
    assert "ENV SOURCE_VERSION=0123456789abcdef0123456789abcdef01234567" in lines
    assert lines[-1] == 'CMD ["/bin/sh", "-c", "gunicorn shop.wsgi"]'


def test_a_step_that_needs_the_config_reads_it_as_a_build_secret_never_a_layer() -> None:
    result = export_of(PYTHON_APPS["django"], "python")
    collectstatic = [
        line
        for line in result.files["Dockerfile"].splitlines()
        if "collectstatic" in line and line.startswith("RUN")
    ]
    assert len(collectstatic) == 1 and collectstatic[0].startswith(
        "RUN --mount=type=secret,id=app-config"
    )
    assert json.loads(result.files["app-config.json"]) == release_from_document(document()).config
    assert "app-config.json" in result.private
    assert "**/app-config.json" in result.files[".dockerignore"].splitlines()
    assert any("--secret id=app-config,src=out/app-config.json" in c for c in result.build)
    plain = export_of(PYTHON_APPS["uv.lock"], "python")
    assert "app-config.json" not in plain.files and not any("--secret" in c for c in plain.build)


def test_a_pipfile_lock_is_turned_into_requirements_before_the_plan_runs() -> None:
    facts = SourceFacts(frozenset({"Pipfile", "Pipfile.lock"}))
    commands = run_commands(export_of(facts, "python").files["Dockerfile"])
    assert commands[1] == [
        "sh",
        "-c",
        "uv tool run pipenv requirements > /tmp/pipfile-requirements.txt",
    ]
    assert commands[-1][-2:] == ["-r", "/tmp/pipfile-requirements.txt"]


def test_a_node_build_runs_npm_on_the_node_major_it_was_built_with() -> None:
    facts = SourceFacts(
        frozenset({"package.json", "package-lock.json"}), npm_scripts=frozenset({"build"})
    )
    result = export_of(facts, "node", python=None, node="22.11.0")
    lines = result.files["Dockerfile"].splitlines()
    assert "FROM node:22-slim" in lines
    assert "ENV PATH=/app/node_modules/.bin:$PATH" in lines
    assert run_commands(result.files["Dockerfile"]) == [
        ["env", "NODE_ENV=production", "NPM_CONFIG_INCLUDE=dev", "npm", "ci"],
        ["env", "NODE_ENV=production", "npm", "run", "build"],
        ["env", "NODE_ENV=production", "npm", "prune", "--omit=dev"],
    ]
    unknown = export_of(facts, "node", python=None).files["Dockerfile"]
    assert "FROM node:lts-slim" in unknown.splitlines()


def test_a_generic_build_runs_bin_build() -> None:
    facts = SourceFacts(frozenset({"Procfile", "bin/build"}), build_script_executable=True)
    dockerfile = export_of(facts, "generic", python=None).files["Dockerfile"]
    assert run_commands(dockerfile) == [["bin/build"]]


def test_the_dockerfile_builds_from_the_source_with_an_ignore_file_beside_it() -> None:
    result = export_of(PYTHON_APPS["uv.lock"], "python")
    assert result.files["Dockerfile.dockerignore"] == result.files[".dockerignore"]
    ignored = result.files[".dockerignore"].splitlines()
    assert {".git", ".venv", ".env", "node_modules", "out"} <= set(ignored)
    assert result.build == [
        "git checkout 0123456789abcdef0123456789abcdef01234567",
        "docker build -t registry.test/shop:v7 -f out/Dockerfile .",
        "docker push registry.test/shop:v7",
    ]


def test_an_export_written_inside_the_source_stays_out_of_the_image() -> None:
    """Its Secret and build config hold the app's config: no image layer may carry them."""
    doc = document(build={"builder": "python", "runtime": build_runtime(PYTHON_APPS["django"])})
    result = export_kubernetes(release_from_document(doc), "img", directory="/src/shop/deploy")
    ignored = result.files["Dockerfile.dockerignore"].splitlines()
    assert "deploy" in ignored and "k8s-*" in ignored
    private = [name for name in result.private if name != "app-config.json"]
    assert private and all(
        fnmatch.fnmatch(name, pattern.removeprefix("**/"))
        for name in private
        for pattern in ignored
        if pattern.startswith("**/") and "secret" in pattern
    )
    assert "**/app-config.json" in ignored


def test_the_image_has_the_defaults_herokus_buildpacks_give_a_dyno() -> None:
    python = export_of(PYTHON_APPS["uv.lock"], "python").files["Dockerfile"].splitlines()
    assert 'ENV FORWARDED_ALLOW_IPS="*" PYTHONHASHSEED="random" PYTHONPATH="/app"' in python
    facts = SourceFacts(frozenset({"package.json", "package-lock.json"}))
    node = export_of(facts, "node", python=None, node="22.11.0").files["Dockerfile"]
    assert 'NODE_ENV="production"' in node and 'WEB_CONCURRENCY="1"' in node
