"""The deployer: one lock per app, and for each change the plan it runs (``plan.py``).

source → build → release phase → rollout → record the release. A release is recorded only once its
processes are up, so on any failure the running release is untouched and no record is left behind.
A second deploy, config change or scale of the same app waits for the first.
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
from twelve.build.detect import read_app_json
from twelve.build.runner import build_slug
from twelve.build.source import extract_tarball, fetch_git
from twelve.deploy import plan as planning
from twelve.deploy.runner import Emit, PlanRunner
from twelve.deploy.steps import Plan
from twelve.errors import Conflict, TwelveError, UsageError
from twelve.releases import Source
from twelve.settings import Settings
from twelve.store import Release, Store
from twelve.supervisor.manager import Supervisor
from twelve.values import Limits


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
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # (app, resource, action, data) → the app's webhooks (Platform.notify once composed).
        self.notify: Callable[[str, str, str, dict[str, Any]], None] = _no_notice
        self.runner = PlanRunner(settings, store, supervisor, event, line, self._notify)

    def _notify(self, app: str, resource: str, action: str, data: dict[str, Any]) -> None:
        self.notify(app, resource, action, data)  # read at each call: it is set after composing

    def lock(self, app: str) -> asyncio.Lock:
        return self._locks[app]

    async def deploy(self, app: str, source: Source, emit: Emit) -> Release:
        """Build ``source`` and release it; BuildError/DeployError leave the old release serving."""
        self.store.apps.get(app)
        async with self.lock(app):
            build = self.store.builds.create(app, source.describe())
            slug_dir = self.settings.builds_dir / app / str(build.id)
            started = f"Build {build.id} started from {source.describe()}"
            emit(started)
            self._event(app, "build", started)
            first_deploy = self.store.releases.current(app) is None
            config = self.store.config.get(app)

            def say(text: str) -> None:
                emit(text)
                self._event(app, "build", text)

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
                await self.runner.run(
                    planning.plan_failed_build(app, build.id, slug_dir, exc.message), emit
                )
                raise
            built = planning.Built(
                app,
                build.id,
                slug_dir,
                commit,
                outcome.builder,
                outcome.procfile.processes,
                dict(outcome.runtime),
            )
            plan = planning.plan_deploy(
                built,
                manifest,
                version=self.store.releases.next_version(app),
                config=config,
                formation=self.store.formation.get(app),
                first_deploy=first_deploy,
            )
            return await self._run_release(plan, emit)

    async def _run_release(self, plan: Plan, emit: Emit) -> Release:
        release = await self.runner.run(plan, emit)
        assert release is not None, "a release plan records its release"
        return release

    async def _fetch(self, source: Source, dest: Path) -> str | None:
        if source.git_url:
            return await fetch_git(source.git_url, source.ref, dest)
        if source.tarball is None:
            raise UsageError("the deploy has no source", "give a path or a git URL")
        await asyncio.to_thread(extract_tarball, source.tarball, dest)
        return source.commit

    def _slug(self, release: Release | None) -> planning.Slug | None:
        if release is None or release.build_id is None:
            return None
        return planning.Slug.of(self.store.builds.get(release.build_id))

    async def set_config(
        self, app: str, changes: dict[str, str | None], description: str | None = None
    ) -> Release | None:
        """Set (value) or unset (None) config vars; a new release when anything changed.

        ``description`` replaces the default ``Set KEY`` (add-ons say ``Attach KEY``); names only.
        """
        self.store.apps.get(app)
        async with self.lock(app):
            live = self.store.releases.current(app)
            plan = planning.plan_config_change(
                app,
                self.store.config.get(app),
                changes,
                description,
                live,
                self._slug(live),
                version=self.store.releases.next_version(app),
                formation=self.store.formation.get(app),
            )
            return await self.runner.run(plan, _quiet)

    async def rollback(self, app: str, version: int) -> Release:
        """A new release with ``version``'s build and config."""
        self.store.apps.get(app)
        async with self.lock(app):
            target = self.store.releases.get(app, version)
            plan = planning.plan_rollback(
                target,
                self._slug(target),
                version=self.store.releases.next_version(app),
                formation=self.store.formation.get(app),
            )
            return await self._run_release(plan, _quiet)

    async def scale(self, app: str, changes: dict[str, int]) -> dict[str, int]:
        """Change the formation; processes start or stop to match, health-gated."""
        self.store.apps.get(app)
        async with self.lock(app):
            live = self.store.releases.current(app)
            if live is None:
                raise Conflict(f"{app} has no release yet", "deploy it first")
            formation = merge_formation(
                self.store.formation.get(app), Procfile(live.procfile), changes
            )
            await self.runner.run(planning.plan_scale(live, formation), _quiet)
            return formation

    async def set_limits(self, app: str, process_type: str, limits: Limits) -> None:
        """Change a process type's limits; its processes are replaced with the new ones."""
        self.store.apps.get(app)
        async with self.lock(app):
            live = self.store.releases.current(app)
            plan = planning.plan_limits(
                app, process_type, limits, live, self.store.formation.get(app)
            )
            await self.runner.run(plan, _quiet)

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
            await self.supervisor.apply(app, self.runner.specs(release, web_only))
            await self.supervisor.retired(app, self.settings.stop_timeout + 5)
            try:
                yield
            finally:
                await self.supervisor.apply(app, self.runner.specs(release, formation), gate=False)

    async def restore(self, app: str) -> None:
        """Bring the app's formation of its live release back (daemon start)."""
        release = self.store.releases.current(app)
        if release is None:
            return
        await self.supervisor.apply(
            app, self.runner.specs(release, self.store.formation.get(app)), gate=False
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
