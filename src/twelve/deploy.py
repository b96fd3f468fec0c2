"""The deploy sequence and every other change that makes a release.

source → build → release phase → rollout → record the release. A release is recorded only once its
processes are up, so on any failure the running release is untouched and no record is left behind.
One lock per app: a second deploy, config change or scale of the same app waits for the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from twelve.appspec.appjson import initial_config
from twelve.appspec.formation import merge_formation
from twelve.appspec.procfile import Procfile
from twelve.build import environments
from twelve.build.detect import read_app_json
from twelve.build.runner import build_slug
from twelve.build.source import extract_tarball, fetch_git
from twelve.errors import Conflict, ReleasePhaseError, TwelveError, UsageError
from twelve.releases import (
    Source,
    config_description,
    deploy_description,
    health_path,
    process_specs,
)
from twelve.settings import Settings
from twelve.store import Release, Store
from twelve.supervisor.isolation import give_to
from twelve.supervisor.manager import Supervisor
from twelve.supervisor.oneoff import run_in_release
from twelve.supervisor.process import ProcessSpec
from twelve.supervisor.spawn import describe_exit
from twelve.values import NO_LIMITS, Limits

Emit = Callable[[str], None]


class Deployer:
    """Builds and releases apps; the one place that decides what a release is."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        supervisor: Supervisor,
        event: Callable[[str, str, str], None],
        line: Callable[[str, str, str], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.supervisor = supervisor
        self._event = event  # (app, process, text) → a twelve line in the app's stream
        self._line = line  # (app, process, text) → an app line in the app's stream
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # (app, resource, action, data) → the app's webhooks (Platform.notify once composed).
        self.notify: Callable[[str, str, str, dict[str, Any]], None] = _no_notice

    def lock(self, app: str) -> asyncio.Lock:
        return self._locks[app]

    async def deploy(self, app: str, source: Source, emit: Emit) -> Release:
        """Build ``source`` and release it; BuildError/DeployError leave the old release serving."""
        self.store.apps.get(app)
        async with self.lock(app):
            build = self.store.builds.create(app, source.describe())
            slug_dir = self.settings.builds_dir / app / str(build.id)

            def say(text: str) -> None:
                emit(text)
                self._event(app, "build", text)

            say(f"Build {build.id} started from {source.describe()}")
            first_deploy = self.store.releases.current(app) is None
            config = self.store.config.get(app)
            try:
                commit = await self._fetch(source, slug_dir / "app")
                manifest = read_app_json(slug_dir / "app")
                if first_deploy:
                    config = initial_config(manifest, config)
                outcome = await build_slug(
                    self.settings,
                    slug_dir,
                    say,
                    config,
                    isolated=self.supervisor.confiner.users.enabled,
                )
            except TwelveError as exc:
                self.store.builds.finish(build.id, status="failed")
                say(f"Build {build.id} failed: {exc.message}")
                self.notify(app, "build", "update", {"id": build.id, "status": "failed"})
                await asyncio.to_thread(shutil.rmtree, slug_dir, True)
                raise
            identity = await self.supervisor.confiner.users.ensure(app)
            await give_to(slug_dir.parent, identity, recursive=False)
            await give_to(slug_dir, identity)
            await environments.give_to_app(slug_dir / "venv", identity)
            web_checks = manifest.healthchecks.get("web", ())
            runtime = dict(outcome.runtime)
            if web_checks:
                runtime["healthcheck_path"] = web_checks[0].path
            if manifest.postdeploy:
                runtime["postdeploy"] = manifest.postdeploy  # exports replay it
            if manifest.cron:
                runtime["cron"] = [job.to_json() for job in manifest.cron]  # part of the release
            build = self.store.builds.finish(
                build.id,
                status="succeeded",
                commit=commit,
                builder=outcome.builder,
                slug_dir=str(slug_dir),
                procfile=outcome.procfile.processes,
                runtime=runtime,
            )
            self.notify(
                app,
                "build",
                "update",
                {
                    "id": build.id,
                    "status": "succeeded",
                    "commit": commit,
                    "builder": outcome.builder,
                },
            )
            release = await self._release(
                app,
                build.id,
                config,
                outcome.procfile,
                deploy_description(build.short_commit, runtime.get("check")),
                emit,
                release_phase=True,
                formation_changes=manifest.formation if first_deploy else None,
            )
            if first_deploy and manifest.postdeploy:
                await self._postdeploy(release, manifest.postdeploy, emit)
            return release

    async def _postdeploy(self, release: Release, command: str, emit: Emit) -> None:
        """app.json's ``scripts.postdeploy``: once, after the first release, as a one-off."""
        name = f"run.{self.store.apps.next_counter(release.app)}"
        emit(f"-----> Running postdeploy: {command}")

        def on_line(text: str) -> None:
            emit(f"       {text}")
            self._line(release.app, name, text)

        code = await self.run_oneoff(release, command, name, on_line)
        self._event(release.app, name, f"postdeploy {describe_exit(code)}")
        if code != 0:
            emit(f"-----> postdeploy {describe_exit(code)}; the release stays live")

    def _specs(self, release: Release, formation: dict[str, int]) -> list[ProcessSpec]:
        if release.build_id is None:
            return []
        build = self.store.builds.get(release.build_id)
        limits = self.store.limits.get(release.app)
        return process_specs(release, formation, health_path(build, release.config), limits)

    async def run_oneoff(
        self,
        release: Release,
        command: str,
        name: str,
        on_line: Emit,
        timeout: float | None = None,
    ) -> int | None:
        """Run a one-off (``run.N``, ``release.N``) as the app's user with its web limits."""
        limits = self.store.limits.get(release.app).get("web", NO_LIMITS)
        return await run_in_release(
            release,
            command,
            name,
            self.settings.scratch_dir,
            on_line,
            timeout=timeout,
            confiner=self.supervisor.confiner,
            limits=limits,
        )

    async def _fetch(self, source: Source, dest: Path) -> str | None:
        if source.git_url:
            return await fetch_git(source.git_url, source.ref, dest)
        if source.tarball is None:
            raise UsageError("the deploy has no source", "give a path or a git URL")
        await asyncio.to_thread(extract_tarball, source.tarball, dest)
        return source.commit

    async def _release(
        self,
        app: str,
        build_id: int,
        config: dict[str, str],
        procfile: Procfile,
        description: str,
        emit: Emit,
        *,
        release_phase: bool = False,
        formation_changes: dict[str, int] | None = None,
    ) -> Release:
        """Roll out a release candidate; record it only once its processes are up.

        With ``release_phase`` (deploys and rollbacks, as on Heroku; not config changes), the
        Procfile's ``release:`` command runs first, in the candidate's exact environment.
        """
        version = self.store.releases.next_version(app)
        initial = {k: v for k, v in (formation_changes or {}).items() if k in procfile.processes}
        formation = merge_formation(self.store.formation.get(app), procfile, initial)
        build = self.store.builds.get(build_id)
        candidate = Release(
            app=app,
            version=version,
            build_id=build_id,
            config=config,
            procfile=procfile.processes,
            description=description,
            created_at=0.0,
            commit=build.commit,
            slug_dir=build.slug_dir,
        )
        emit(f"-----> Releasing v{version}")
        if release_phase and "release" in procfile.processes:
            await self._release_phase(candidate, emit)
        await self.supervisor.apply(app, self._specs(candidate, formation))
        release = self.store.releases.add(
            app, version, build_id, config, procfile.processes, description
        )
        self.store.formation.set(app, formation)
        self._event(app, "api", f"Release v{version} created: {description}")
        self.notify(
            app,
            "release",
            "create",
            {"version": version, "description": description, "commit": build.commit},
        )
        emit(f"-----> Released v{version}")
        return release

    async def _release_phase(self, candidate: Release, emit: Emit) -> None:
        app = candidate.app
        name = f"release.{self.store.apps.next_counter(app)}"
        command = candidate.procfile["release"]
        emit(f"-----> Running release command: {command}")
        self._event(app, name, f"Starting process with command `{command}`")

        def on_line(text: str) -> None:
            emit(f"       {text}")
            self._line(app, name, text)

        code = await self.run_oneoff(
            candidate, command, name, on_line, timeout=self.settings.release_timeout
        )
        outcome = "timed out" if code is None else describe_exit(code)
        self._event(app, name, f"Process {outcome}")
        if code != 0:
            raise ReleasePhaseError(
                f"the release command {outcome}",
                "fix it and deploy again; the running release is unchanged",
            )

    async def set_config(
        self, app: str, changes: dict[str, str | None], description: str | None = None
    ) -> Release | None:
        """Set (value) or unset (None) config vars; a new release when anything changed.

        ``description`` replaces the default ``Set KEY`` (add-ons say ``Attach KEY``); names only.
        """
        self.store.apps.get(app)
        async with self.lock(app):
            current = self.store.config.get(app)
            updated = {k: v for k, v in current.items() if changes.get(k, v) is not None}
            updated.update({k: v for k, v in changes.items() if v is not None})
            if updated == current:
                return None
            release = self.store.releases.current(app)
            description = description or config_description(
                {k: v for k, v in changes.items() if current.get(k) != v}
            )
            if release is None or release.build_id is None:
                self.store.config.replace(app, updated)
                self._event(app, "api", f"Config changed: {description}")
                return None
            return await self._release(
                app, release.build_id, updated, Procfile(release.procfile), description, _quiet
            )

    async def rollback(self, app: str, version: int) -> Release:
        """A new release with ``version``'s build and config."""
        self.store.apps.get(app)
        async with self.lock(app):
            target = self.store.releases.get(app, version)
            if target.build_id is None:
                raise Conflict(f"v{version} has no build to roll back to")
            return await self._release(
                app,
                target.build_id,
                target.config,
                Procfile(target.procfile),
                f"Rollback to v{version}",
                _quiet,
                release_phase=True,
            )

    async def scale(self, app: str, changes: dict[str, int]) -> dict[str, int]:
        """Change the formation; processes start or stop to match, health-gated."""
        self.store.apps.get(app)
        async with self.lock(app):
            release = self.store.releases.current(app)
            if release is None:
                raise Conflict(f"{app} has no release yet", "deploy it first")
            formation = merge_formation(
                self.store.formation.get(app), Procfile(release.procfile), changes
            )
            await self.supervisor.apply(app, self._specs(release, formation))
            self.store.formation.set(app, formation)
            summary = ", ".join(f"{k}={v}" for k, v in formation.items())
            self._event(app, "api", f"Scaled to {summary}")
            return formation

    async def set_limits(self, app: str, process_type: str, limits: Limits) -> None:
        """Change a process type's limits; its processes are replaced with the new ones."""
        self.store.apps.get(app)
        async with self.lock(app):
            release = self.store.releases.current(app)
            if release is not None and process_type not in release.procfile:
                raise UsageError(
                    f"no process type {process_type!r} in the Procfile",
                    f"declared types: {', '.join(release.procfile)}",
                )
            self.store.limits.set(app, process_type, limits)
            if release is not None:
                formation = self.store.formation.get(app)
                await self.supervisor.apply(app, self._specs(release, formation))
            self._event(app, "api", f"Limits of {process_type} set to {limits.describe()}")

    @contextlib.asynccontextmanager
    async def workers_paused(self, app: str) -> AsyncIterator[None]:
        """Hold the app's lock with only its web processes running, then bring the rest back.

        A backup restore runs inside: no worker writes meanwhile, and no deploy starts.
        """
        self.store.apps.get(app)
        async with self.lock(app):
            release = self.store.releases.current(app)
            formation = self.store.formation.get(app)
            if release is None:
                yield
                return
            web_only = {kind: (n if kind == "web" else 0) for kind, n in formation.items()}
            await self.supervisor.apply(app, self._specs(release, web_only))
            await self.supervisor.retired(app, self.settings.stop_timeout + 5)
            try:
                yield
            finally:
                await self.supervisor.apply(app, self._specs(release, formation), gate=False)

    async def restore(self, app: str) -> None:
        """Bring the app's formation of its live release back (daemon start)."""
        release = self.store.releases.current(app)
        if release is None:
            return
        await self.supervisor.apply(
            app, self._specs(release, self.store.formation.get(app)), gate=False
        )

    async def destroy(self, app: str) -> None:
        self.store.apps.get(app)
        async with self.lock(app):
            await self.supervisor.stop_app(app)
            self.store.apps.delete(app)
            for path in (self.settings.builds_dir / app, self.settings.scratch_dir / app):
                await asyncio.to_thread(shutil.rmtree, path, True)
            await self.supervisor.confiner.users.remove(app)
        self._locks.pop(app, None)


def _no_notice(_app: str, _resource: str, _action: str, _data: dict[str, Any]) -> None:
    pass


def _quiet(_text: str) -> None:
    """Emit target for changes whose output only goes to the logs."""
