"""Run a build plan into a slug directory: ``<slug>/app`` (the source) and ``<slug>/venv``."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from twelve.appspec.procfile import Procfile
from twelve.audit import Severity, format_warnings, run_check
from twelve.build import environments, toolchain
from twelve.build.detect import gather_facts, read_procfile
from twelve.build.pipfile import pipfile_requirements
from twelve.build.plan import DETECTION_ORDER, BuildPlan, detect_builder, plan_build
from twelve.errors import BuildError, TwelveError
from twelve.settings import Settings, uv_binary
from twelve.supervisor import spawn
from twelve.supervisor.environment import SYSTEM_PATH, build_environment

BUILD_TIMEOUT = 30 * 60.0


@dataclass(frozen=True)
class BuildOutcome:
    builder: str
    procfile: Procfile
    runtime: dict[str, Any] = field(default_factory=dict)


async def build_slug(
    settings: Settings,
    slug_dir: Path,
    emit: Callable[[str], None],
    config: dict[str, str],
    *,
    isolated: bool = False,
) -> BuildOutcome:
    """Build the source in ``slug_dir/app`` in place; raise BuildError saying which step failed.

    ``isolated``: the slug will belong to the app's own user, so the interpreter must be one
    every user can run, and files are copied from the cache rather than hard-linked to it.
    """
    started = time.monotonic()
    app_dir = slug_dir / "app"
    facts = await asyncio.to_thread(gather_facts, app_dir, config)
    builder = detect_builder(facts)
    emit(f"-----> Detection order: {', '.join(DETECTION_ORDER)}; using the {builder} builder")
    chain = toolchain.Toolchain()
    if builder == "python":
        await toolchain.choose_python(settings, facts, isolated, emit, chain)
        version = tuple(int(p) for p in chain.python_label.split("."))
        facts = replace(facts, python_version=(version[0], version[1], version[2]))
    elif builder == "node":
        facts = await toolchain.choose_node(settings, facts, emit, chain)
    plan = plan_build(facts)
    procfile = read_procfile(app_dir)
    for note in plan.notes:
        emit(f"-----> {note}")
    values = {
        "app": str(app_dir),
        "venv": str(slug_dir / "venv"),
        "uv": uv_binary(),
        "python": chain.python,
        "pipfile_requirements": str(slug_dir / "pipfile-requirements.txt"),
    }
    if "Pipfile.lock" in facts.files and "requirements.txt" not in facts.files:
        converted = pipfile_requirements((app_dir / "Pipfile.lock").read_text(errors="replace"))
        Path(values["pipfile_requirements"]).write_text(converted)
    runtime: dict[str, Any] = {"builder": plan.builder, "runtimes": chain.runtimes}
    if plan.builder == "node" and facts.node_version:
        runtime["node"] = facts.node_version  # exports build on the same major version
    if plan.needs_python:
        runtime["python"] = chain.python_label
    first_path = f"{chain.node_bin}:" if chain.node_bin else ""
    if chain.node_bin:
        toolchain.link_runtime(slug_dir, chain.node_bin)
    env = build_environment(
        home=str(slug_dir),
        uv_cache=str(settings.uv_cache_dir),
        path=f"{first_path}{slug_dir / 'venv' / 'bin'}:{os.path.dirname(values['uv'])}:{SYSTEM_PATH}",
    )
    env.update(settings.network_environ)
    if isolated:
        env["UV_LINK_MODE"] = "copy"  # a hard link would share one inode between two apps' slugs
    env["NPM_CONFIG_CACHE"] = str(settings.home / "cache" / "npm")
    env["NPM_CONFIG_UPDATE_NOTIFIER"] = "false"
    env["NPM_CONFIG_FUND"] = "false"
    if "SSL_CERT_FILE" in env:
        # A node runtime's npm reads no machine npmrc: give it the machine's certificate store,
        # which old node versions (no NODE_EXTRA_CA_CERTS) need to reach the registry through
        # a proxy that re-signs TLS.
        env.setdefault("NPM_CONFIG_CAFILE", env["SSL_CERT_FILE"])
    settings.uv_cache_dir.mkdir(parents=True, exist_ok=True)
    reused = False
    if plan.needs_python:
        reused = await asyncio.to_thread(
            _link_environment, slug_dir, plan, chain, isolated, "bin/build" in facts.files, values
        )
        if reused:
            made = environments.made_by(Path(values["venv"]))
            emit(f"-----> Dependency files unchanged: reusing the environment of {made}")
    steps = plan.render(values)
    for step in steps:
        if reused and step.installs:
            continue
        emit(f"-----> {step.description[0].upper()}{step.description[1:]}")
        code = await spawn.run_to_completion(
            step.argv,
            cwd=app_dir,
            env={**env, **(config if step.with_app_config else {}), **dict(step.env)},
            on_line=lambda text: emit(f"       {text}"),
            timeout=BUILD_TIMEOUT,
        )
        if code != 0:
            raise BuildError(
                f"build step '{step.description}' {spawn.describe_exit(code)}",
                "fix the error shown above and deploy again; the running release is unchanged",
            )
    if plan.needs_python and not reused and Path(values["venv"]) != slug_dir / "venv":
        marker = Path(values["venv"]) / environments.COMPLETE
        await asyncio.to_thread(marker.write_text, f"build {slug_dir.name}\n")
    # Unrendered, so an export can replay the same steps elsewhere (a Dockerfile).
    runtime["steps"] = [
        {
            "description": s.description,
            "argv": list(s.argv),
            "env": dict(s.env),
            "with_app_config": s.with_app_config,
        }
        for s in plan.steps
    ]
    runtime["duration"] = round(time.monotonic() - started, 3)
    runtime["check"] = await _audit(app_dir, config, emit)
    emit(f"-----> Process types: {', '.join(procfile.types) or 'none'}")
    emit(f"-----> Built in {runtime['duration']:.1f}s")
    return BuildOutcome(plan.builder, procfile, runtime)


def _link_environment(
    slug_dir: Path,
    plan: BuildPlan,
    chain: toolchain.Toolchain,
    isolated: bool,
    has_build_script: bool,
    values: dict[str, str],
) -> bool:
    """Point ``slug/venv`` at the app's environment for these inputs; whether it is already built.

    A bin/build script may change the environment, so such an app gets one of its own each build.
    """
    files = environments.read_dependency_files(slug_dir / "app")
    if has_build_script or not environments.reusable(files):
        return False
    interpreter = f"{chain.python} {chain.python_label} isolated={isolated}"
    key = environments.environment_key(files, interpreter, plan.steps)
    root = slug_dir.parent / "venvs"
    found = environments.complete_one(root, key)
    target = root / key
    if found is None:
        shutil.rmtree(target, ignore_errors=True)  # an unfinished one from a failed build
        root.mkdir(parents=True, exist_ok=True)
    (slug_dir / "venv").symlink_to(target)
    values["venv"] = str(target)
    return found is not None


async def _audit(app_dir: Path, config: dict[str, str], emit: Callable[[str], None]) -> str:
    """``twelve check`` on the source, as warnings; with TWELVE_CHECK=strict, high findings fail.

    Returns the summary for the release description. A scan that cannot complete is a warning:
    the audit advises, it does not stand between a user and a deploy unless asked to.
    """
    emit("-----> Checking the app against the twelve factors")
    try:
        report = await asyncio.to_thread(run_check, app_dir)
    except TwelveError as exc:
        emit(f"       warning: the check could not run: {exc.message}")
        return "not checked"
    for line in format_warnings(report):
        emit(f"       {line}")
    emit(f"       {report.summary_line()}")
    high = report.failing(Severity.HIGH)
    if config.get("TWELVE_CHECK") == "strict" and high:
        raise BuildError(
            f"twelve check found {len(high)} high-severity problem(s) and TWELVE_CHECK=strict",
            "fix them, suppress them with a reason, or unset TWELVE_CHECK",
        )
    return report.summary_line()
