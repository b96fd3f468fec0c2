"""Does the I/O of a plan's steps, in order: the store, file ownership, the supervisor, one-offs."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twelve.build import environments
from twelve.deploy import steps
from twelve.errors import ReleasePhaseError
from twelve.releases import health_path, process_specs
from twelve.settings import Settings
from twelve.store import Release, Store
from twelve.supervisor.isolation import give_to
from twelve.supervisor.manager import Supervisor
from twelve.supervisor.oneoff import run_in_release
from twelve.supervisor.process import ProcessSpec
from twelve.supervisor.spawn import describe_exit
from twelve.values import NO_LIMITS

Emit = Callable[[str], None]
Line = Callable[[str, str, str], None]  # (app, process, text)
Notice = Callable[[str, str, str, dict[str, Any]], None]  # (app, resource, action, data)


@dataclass(frozen=True)
class PlanRunner:
    settings: Settings
    store: Store
    supervisor: Supervisor
    event: Line  # a twelve line in the app's stream
    line: Line  # an app line in the app's stream
    notify: Notice

    async def run(self, plan: steps.Plan, emit: Emit) -> Release | None:
        """Every step in order; the release the plan recorded, if it recorded one."""
        recorded: Release | None = None
        for step in plan:
            if isinstance(step, steps.RecordRelease):
                r = step.release
                recorded = self.store.releases.add(
                    r.app, r.version, r.build_id, r.config, r.procfile, r.description
                )
            elif isinstance(step, steps.RunPostdeploy):
                assert recorded is not None, "postdeploy runs in the release the plan recorded"
                await self._postdeploy(recorded, step.command, emit)
            else:
                await self._do(step, emit)
        return recorded

    async def _do(self, step: steps.Step, emit: Emit) -> None:
        match step:
            case steps.Say(text):
                emit(text)
            case steps.LogEvent(app, process, text):
                self.event(app, process, text)
            case steps.Notify(app, resource, action, data):
                self.notify(app, resource, action, data)
            case steps.FinishBuild():
                self.store.builds.finish(**vars(step))  # the step's fields are finish()'s keywords
            case steps.RemoveDir(path):
                await asyncio.to_thread(shutil.rmtree, path, True)
            case steps.ChownSlug(app, slug_dir):
                identity = await self.supervisor.confiner.users.ensure(app)
                await give_to(slug_dir.parent, identity, recursive=False)
                await give_to(slug_dir, identity)
                await environments.give_to_app(slug_dir / "venv", identity)
            case steps.RunReleasePhase(candidate):
                await self._release_phase(candidate, emit)
            case steps.StartRollout(release, formation, gate):
                await self.supervisor.apply(release.app, self.specs(release, formation), gate=gate)
            case steps.SetFormation(app, formation):
                self.store.formation.set(app, formation)
            case steps.ReplaceConfig(app, config):
                self.store.config.replace(app, config)
            case steps.SetLimits(app, process_type, limits):
                self.store.limits.set(app, process_type, limits)
            case _:
                raise AssertionError(f"{step!r} is run by run()")

    def specs(self, release: Release, formation: dict[str, int]) -> list[ProcessSpec]:
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

    def _echo(self, app: str, name: str, emit: Emit) -> Emit:
        def on_line(text: str) -> None:
            emit(f"       {text}")
            self.line(app, name, text)

        return on_line

    async def _release_phase(self, candidate: Release, emit: Emit) -> None:
        app = candidate.app
        name = f"release.{self.store.apps.next_counter(app)}"
        command = candidate.procfile["release"]
        emit(f"-----> Running release command: {command}")
        self.event(app, name, f"Starting process with command `{command}`")
        code = await self.run_oneoff(
            candidate,
            command,
            name,
            self._echo(app, name, emit),
            timeout=self.settings.release_timeout,
        )
        outcome = "timed out" if code is None else describe_exit(code)
        self.event(app, name, f"Process {outcome}")
        if code != 0:
            raise ReleasePhaseError(
                f"the release command {outcome}",
                "fix it and deploy again; the running release is unchanged",
            )

    async def _postdeploy(self, release: Release, command: str, emit: Emit) -> None:
        """Once, after the first release, as a one-off; its failure leaves the release live."""
        name = f"run.{self.store.apps.next_counter(release.app)}"
        emit(f"-----> Running postdeploy: {command}")
        code = await self.run_oneoff(release, command, name, self._echo(release.app, name, emit))
        self.event(release.app, name, f"postdeploy {describe_exit(code)}")
        if code != 0:
            emit(f"-----> postdeploy {describe_exit(code)}; the release stays live")
