"""The scheduler: runs each app's cron jobs (from its live release) as ``scheduler.N`` one-offs.

One loop looks at every app's jobs, claims each due tick in the store and starts its run through
the same one-off path as ``twelve run --detached``, then waits on its clock for the next tick.
Exactly once per tick: the claim is written before the process starts, and is unique; the process
carries its claim's id in the keeper's note, so after a daemon restart a claimed tick is followed
(its process still runs), finished (its exit was recorded) or started (it never was).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from twelve.appspec.cron import Job
from twelve.cron.clock import CronClock
from twelve.cron.plan import LOOK_AGAIN, JobPlan, plan_job, wake_at
from twelve.errors import NotFound
from twelve.store import Release, Store
from twelve.store.cron import CLAIMED, RUNNING, SKIPPED, CronRun
from twelve.supervisor import spawn
from twelve.supervisor.oneoffs import SCHEDULED, OneOff, OneOffs

log = logging.getLogger(__name__)
EventSink = Callable[[str, str, str], None]  # app, process, text


def jobs_of(store: Store, release: Release | None) -> tuple[Job, ...]:
    """The cron jobs a release declares (in its build's app.json)."""
    if release is None or release.build_id is None:
        return ()
    try:
        runtime = store.builds.get(release.build_id).runtime
    except NotFound:
        return ()
    return tuple(Job.from_json(j) for j in runtime.get("cron") or ())


class Scheduler:
    def __init__(
        self,
        store: Store,
        oneoffs: OneOffs,
        clock: CronClock,
        on_event: EventSink,
        *,
        tz: str = "UTC",
        catchup: float = 0.0,
    ) -> None:
        self.store = store
        self.runs = store.cron
        self.oneoffs = oneoffs
        self.clock = clock
        self.on_event = on_event
        self.tz = tz
        self.catchup = catchup
        self.wake = asyncio.Event()  # set to look again at once (a deploy changed the jobs)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Resume what an earlier daemon left, then fire ticks until cancelled."""
        await self.recover()
        while True:
            self.wake.clear()
            plans = await self.tick()
            now = self.clock.now()
            await self.clock.sleep_until(wake_at(plans, now), self.wake)

    async def tick(self) -> list[JobPlan]:
        """Claim and start every tick due now, on every app; the plans looked at."""
        plans: list[JobPlan] = []
        for app in self.store.apps.all():
            release = self.store.releases.current(app.name)
            for job in jobs_of(self.store, release):
                assert release is not None
                now = self.clock.now()
                # A new job is due from the release that declared it, though this look may come a
                # moment later (a rollback to an old release does not reach back further than that).
                first = min(now, max(release.created_at, now - LOOK_AGAIN))
                since = self.runs.since(app.name, job.name, first)
                cursor = max(since, self.runs.cursor(app.name, job.name) or since)
                plan = plan_job(job, cursor, now, self.tz, self.catchup)
                plans.append(plan)
                if plan.newest_missed is not None:
                    self._missed(app.name, release, plan)
                for tick in plan.run:
                    await self.fire(release, job, tick)
        return plans

    def _missed(self, app: str, release: Release, plan: JobPlan) -> None:
        note = f"{plan.missed} tick(s) missed while no daemon ran (TWELVE_CRON_CATCHUP)"
        claimed = self.runs.claim(
            app, plan.job.name, plan.newest_missed, plan.job.command, release.version,
            self.clock.now(), SKIPPED, note,
        )  # fmt: skip
        if claimed is not None:
            self.on_event(app, "scheduler", f"{plan.job.name}: skipped {note}")

    # -- one run -------------------------------------------------------------------------------

    async def fire(self, release: Release, job: Job, tick: float | None) -> CronRun | None:
        """Claim ``tick`` of ``job`` (None: a run by hand) and start its run; the claim, or None
        when the tick was already claimed or the job's last run still runs."""
        app, now = release.app, self.clock.now()
        if tick is not None and not job.allow_overlap and self._still_running(app, job.name):
            note = "its previous run is still running"
            skipped = self.runs.claim(
                app, job.name, tick, job.command, release.version, now, SKIPPED, note
            )
            if skipped is not None:
                self.on_event(app, "scheduler", f"{job.name}: not started, {note}")
            return None
        run_id = self.runs.claim(app, job.name, tick, job.command, release.version, now)
        if run_id is None:
            return None
        await self._start(run_id, release, job)
        return self.runs.get(run_id)

    async def _start(self, run_id: int, release: Release, job: Job) -> None:
        name = self.oneoffs.next_name(release.app, SCHEDULED)
        self.runs.name(run_id, name)
        self.on_event(release.app, name, f"Starting {job.name}: `{job.command}`")
        try:
            oneoff = await self.oneoffs.start(
                release, job.command, name, SCHEDULED, timeout=job.timeout,
                extra={"cron_run": run_id, "cron_job": job.name},
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            self.runs.finish(run_id, None, self.clock.now(), f"could not start: {exc}")
            self.on_event(release.app, name, f"{job.name} could not start: {exc}")
            return
        self.runs.started(run_id, self.clock.now())
        self._follow(run_id, oneoff)

    def _follow(self, run_id: int, oneoff: OneOff) -> None:
        async def finished() -> None:
            code = await asyncio.shield(oneoff.finished)
            self.runs.finish(run_id, code, self.clock.now(), oneoff.ended_by)

        task = asyncio.create_task(finished(), name=f"cron run {run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _still_running(self, app: str, job: str) -> bool:
        return any(
            o.meta.get("cron_job") == job and o.running.returncode is None
            for o in self.oneoffs.of_app(app)
        )

    def exited(self, key: str, meta: dict[str, Any], code: int | None) -> None:
        """A scheduled process's exit, as the keeper reports it: recorded before the keeper may
        forget the process, so a daemon killed right after cannot leave its tick unfinished."""
        run_id = meta.get("cron_run")
        if not isinstance(run_id, int):
            return
        app = key.split("/", maxsplit=1)[0]
        oneoff = next(
            (o for o in self.oneoffs.of_app(app) if o.meta.get("cron_run") == run_id), None
        )
        self.runs.finish(run_id, code, self.clock.now(), oneoff.ended_by if oneoff else None)

    # -- after a restart -----------------------------------------------------------------------

    async def recover(self) -> None:
        """Claims an earlier daemon left open: followed, finished, or started now."""
        for run in self.runs.unfinished():
            oneoff = next(
                (o for o in self.oneoffs.of_app(run.app) if o.meta.get("cron_run") == run.id), None
            )
            if oneoff is not None:
                self._follow(run.id, oneoff)
            elif run.state == RUNNING:
                self.runs.finish(run.id, None, self.clock.now(), "ended while no daemon ran")
            elif run.state == CLAIMED:
                # Claimed, but the keeper never started it (it would hold it, or its exit would
                # have been recorded): it was due, so it runs now, once.
                job = self._job(run)
                try:
                    release = self.store.releases.get(run.app, run.release)
                except NotFound:
                    release = None
                if job is None or release is None:
                    self.runs.finish(run.id, None, self.clock.now(), "its job or release is gone")
                    continue
                await self._start(run.id, release, job)

    def _job(self, run: CronRun) -> Job | None:
        with contextlib.suppress(NotFound):
            release = self.store.releases.get(run.app, run.release)
            for job in jobs_of(self.store, release):
                if job.name == run.job:
                    return job
        return None

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def describe(run: CronRun) -> str:
    return spawn.describe_exit(run.exit_code) if run.ended_at else run.state
