"""The scheduler's jobs and runs: ``cron``, ``cron:run``, ``cron:runs``."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.context import configured, existing_app, platform
from twelve.api.routing import Routes
from twelve.appspec.cron import next_tick
from twelve.cron.scheduler import Scheduler, jobs_of
from twelve.errors import Conflict, NotFound
from twelve.store.cron import CronRun

routes = Routes()


def _scheduler(request: Request) -> Scheduler:
    missing = Conflict("the scheduler is not running here")
    return configured(platform(request).scheduler, missing)


def run_json(run: CronRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job,
        "tick": run.tick,
        "state": run.state,
        "command": run.command,
        "release": run.release,
        "process": run.process,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration": run.duration,
        "exit_code": run.exit_code,
        "note": run.note,
        "by_hand": run.tick is None,
    }


@routes.get("/apps/{app}/cron")
async def list_jobs(request: Request) -> JSONResponse:
    """The live release's jobs, each with its next tick and its last run."""
    p, app = existing_app(request)
    scheduler = p.scheduler
    runs = p.store.cron
    now = scheduler.clock.now() if scheduler else time.time()
    tz = scheduler.tz if scheduler else p.settings.cron_tz
    jobs = []
    for job in jobs_of(p.store, p.store.releases.current(app)):
        last = next((r for r in runs.runs(app, 20, job.name) if r.state != "skipped"), None)
        jobs.append(
            job.to_json()
            | {
                "next_at": next_tick(job.schedule, now, tz),
                "last": run_json(last) if last else None,
            }
        )
    return JSONResponse({"time_zone": tz, "jobs": jobs})


@routes.post("/apps/{app}/cron/{job}/run")
async def run_job(request: Request) -> JSONResponse:
    """Run a job now, once, as the scheduler would (``scheduler.N`` of the live release)."""
    p, app = existing_app(request)
    name = request.path_params["job"]
    release = p.store.releases.current(app)
    job = next((j for j in jobs_of(p.store, release) if j.name == name), None)
    if job is None or release is None:
        raise NotFound(f"{app} has no cron job {name}", f"see 'twelve cron -a {app}'")
    run = await _scheduler(request).fire(release, job, None)
    if run is None:
        raise Conflict(f"{name} could not be started")
    return JSONResponse(run_json(run))


@routes.get("/apps/{app}/cron/runs")
async def list_runs(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    try:
        limit = max(1, min(int(request.query_params.get("n", "50")), 1000))
    except ValueError:
        limit = 50
    job = request.query_params.get("job") or None
    return JSONResponse([run_json(r) for r in p.store.cron.runs(app, limit, job)])
