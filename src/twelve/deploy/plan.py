"""The plans of every change that makes a release, decided from what the store says. Pure.

A release is recorded only once its processes are up: in every plan ``StartRollout`` comes before
``RecordRelease``, so a step that fails leaves the running release untouched and no record behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twelve.appspec.appjson import AppJson
from twelve.appspec.formation import merge_formation
from twelve.appspec.procfile import Procfile
from twelve.deploy import steps
from twelve.errors import Conflict, UsageError
from twelve.releases import config_description, deploy_description
from twelve.store.models import Build, Release
from twelve.values import Limits


@dataclass(frozen=True)
class Slug:
    """The build a release runs: its record and where its files are."""

    build_id: int
    commit: str | None
    slug_dir: str | None

    @classmethod
    def of(cls, build: Build) -> Slug:
        return cls(build.id, build.commit, build.slug_dir)

    def release(
        self, app: str, version: int, config: dict[str, str], procfile: dict[str, str], why: str
    ) -> Release:
        """The candidate release of this slug (created once it is recorded)."""
        return Release(
            app, version, self.build_id, config, procfile, why, 0.0, self.commit, self.slug_dir
        )


@dataclass(frozen=True)
class Built:
    """What a successful build made, before it is recorded."""

    app: str
    build_id: int
    slug_dir: Path
    commit: str | None
    builder: str
    procfile: dict[str, str]
    runtime: dict[str, Any]  # the builder's facts (interpreter, plan steps, durations, check)


def release_runtime(runtime: dict[str, Any], manifest: AppJson) -> dict[str, Any]:
    """The build's runtime facts plus what the release keeps of app.json."""
    kept = dict(runtime)
    web_checks = manifest.healthchecks.get("web", ())
    if web_checks:
        kept["healthcheck_path"] = web_checks[0].path
    if manifest.postdeploy:
        kept["postdeploy"] = manifest.postdeploy  # exports replay it
    if manifest.cron:
        kept["cron"] = [job.to_json() for job in manifest.cron]  # part of the release
    return kept


def plan_failed_build(app: str, build_id: int, slug_dir: Path, message: str) -> steps.Plan:
    text = f"Build {build_id} failed: {message}"
    return (
        steps.FinishBuild(build_id, "failed"),
        steps.Say(text),
        steps.LogEvent(app, "build", text),
        steps.Notify(app, "build", "update", {"id": build_id, "status": "failed"}),
        steps.RemoveDir(slug_dir),
    )


def plan_release(
    candidate: Release, formation: dict[str, int], *, release_phase: bool
) -> steps.Plan:
    """Roll out ``candidate`` at ``formation``, then record it.

    With ``release_phase`` (deploys and rollbacks, as on Heroku; not config changes), the
    Procfile's ``release:`` command runs first.
    """
    app, version, description = candidate.app, candidate.version, candidate.description
    phase: tuple[steps.Step, ...] = ()
    if release_phase and "release" in candidate.procfile:
        phase = (steps.RunReleasePhase(candidate),)
    return (
        steps.Say(f"-----> Releasing v{version}"),
        *phase,
        steps.StartRollout(candidate, formation),
        steps.RecordRelease(candidate),
        steps.SetFormation(app, formation),
        steps.LogEvent(app, "api", f"Release v{version} created: {description}"),
        steps.Notify(
            app,
            "release",
            "create",
            {"version": version, "description": description, "commit": candidate.commit},
        ),
        steps.Say(f"-----> Released v{version}"),
    )


def plan_deploy(
    built: Built,
    manifest: AppJson,
    *,
    version: int,
    config: dict[str, str],
    formation: dict[str, int],
    first_deploy: bool,
) -> steps.Plan:
    """After a successful build: hand the slug to the app, record the build, release it.

    A first deploy takes app.json's formation and runs its postdeploy script once it is live.
    """
    runtime = release_runtime(built.runtime, manifest)
    procfile = Procfile(built.procfile)
    initial = manifest.formation if first_deploy else {}
    wanted = merge_formation(
        formation, procfile, {k: v for k, v in initial.items() if k in procfile.processes}
    )
    slug = Slug(built.build_id, built.commit, str(built.slug_dir))
    description = deploy_description((built.commit or "")[:7], runtime.get("check"))
    postdeploy: tuple[steps.Step, ...] = ()
    if first_deploy and manifest.postdeploy:
        postdeploy = (steps.RunPostdeploy(manifest.postdeploy),)
    return (
        steps.ChownSlug(built.app, built.slug_dir),
        steps.FinishBuild(
            built.build_id,
            "succeeded",
            commit=built.commit,
            builder=built.builder,
            slug_dir=str(built.slug_dir),
            procfile=built.procfile,
            runtime=runtime,
        ),
        steps.Notify(
            built.app,
            "build",
            "update",
            {
                "id": built.build_id,
                "status": "succeeded",
                "commit": built.commit,
                "builder": built.builder,
            },
        ),
        *plan_release(
            slug.release(built.app, version, config, built.procfile, description),
            wanted,
            release_phase=True,
        ),
        *postdeploy,
    )


def plan_rollback(
    target: Release, slug: Slug | None, *, version: int, formation: dict[str, int]
) -> steps.Plan:
    """A new release with ``target``'s build and config."""
    if slug is None:
        raise Conflict(f"v{target.version} has no build to roll back to")
    why = f"Rollback to v{target.version}"
    return plan_release(
        slug.release(target.app, version, target.config, target.procfile, why),
        merge_formation(formation, Procfile(target.procfile)),
        release_phase=True,
    )


def plan_config_change(
    app: str,
    current: dict[str, str],
    changes: dict[str, str | None],
    description: str | None,
    live: Release | None,
    slug: Slug | None,
    *,
    version: int,
    formation: dict[str, int],
) -> steps.Plan:
    """Set (value) or unset (None) config vars: a new release of the live build, when there is
    one and anything changed. ``description`` replaces the default ``Set KEY``; names only."""
    updated = {k: v for k, v in current.items() if changes.get(k, v) is not None}
    updated.update({k: v for k, v in changes.items() if v is not None})
    if updated == current:
        return ()
    description = description or config_description(
        {k: v for k, v in changes.items() if current.get(k) != v}
    )
    if live is None or slug is None:
        return (
            steps.ReplaceConfig(app, updated),
            steps.LogEvent(app, "api", f"Config changed: {description}"),
        )
    return plan_release(
        slug.release(app, version, updated, live.procfile, description),
        merge_formation(formation, Procfile(live.procfile)),
        release_phase=False,
    )


def plan_scale(live: Release, formation: dict[str, int]) -> steps.Plan:
    """Start or stop processes to match ``formation`` (health-gated), then keep it."""
    summary = ", ".join(f"{k}={v}" for k, v in formation.items())
    return (
        steps.StartRollout(live, formation),
        steps.SetFormation(live.app, formation),
        steps.LogEvent(live.app, "api", f"Scaled to {summary}"),
    )


def plan_limits(
    app: str,
    process_type: str,
    limits: Limits,
    live: Release | None,
    formation: dict[str, int],
) -> steps.Plan:
    """Keep a process type's new limits; its processes are replaced with ones that have them."""
    if live is not None and process_type not in live.procfile:
        raise UsageError(
            f"no process type {process_type!r} in the Procfile",
            f"declared types: {', '.join(live.procfile)}",
        )
    rollout: tuple[steps.Step, ...] = () if live is None else (steps.StartRollout(live, formation),)
    return (
        steps.SetLimits(app, process_type, limits),
        *rollout,
        steps.LogEvent(app, "api", f"Limits of {process_type} set to {limits.describe()}"),
    )
