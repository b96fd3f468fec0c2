"""Backups of add-ons: list, capture, show, download, verify, delete, restore; daily schedules."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from twelve.access.roles import Role, effective_role
from twelve.api.body import json_body
from twelve.api.context import configured, existing_app, platform
from twelve.api.guard import principal_of
from twelve.api.routing import Routes
from twelve.api.streaming import Emit, stream_operation
from twelve.backups.manager import BackupManager
from twelve.backups.restoring import parse_ref, restore, target_of
from twelve.backups.scheduler import Scheduler
from twelve.errors import Forbidden, ServiceError, UsageError
from twelve.store.backups import Backup

routes = Routes()


def backup_json(backup: Backup) -> dict[str, Any]:
    """A backup as the API shows it: never a table's content, only its counts."""
    tables = backup.details.get("tables", {})
    return {
        "id": backup.id,
        "app": backup.app,
        "addon": backup.addon,
        "service": backup.service,
        "status": backup.status,
        "reason": backup.reason,
        "server_version": backup.server_version,
        "size": backup.size,
        "stored_size": backup.stored_size,
        "checksum": backup.checksum,
        "scheduled": backup.scheduled,
        "started_at": backup.started_at,
        "duration": backup.duration,
        "verified_at": backup.verified_at,
        "tables": {name: counts[0] for name, counts in tables.items()},
        "keys": backup.details.get("keys"),
    }


_NO_BACKUPS = "this twelve server has no backup support configured"


def _manager(request: Request) -> BackupManager:
    return configured(platform(request).backups, ServiceError(_NO_BACKUPS))


def _scheduler(request: Request) -> Scheduler:
    return configured(platform(request).backup_schedules, ServiceError(_NO_BACKUPS))


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UsageError(f"{key} must be a string")
    return value


def _count(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{key} must be a whole number")
    return value


@routes.get("/apps/{app}/backups")
async def list_backups(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    backups = _manager(request).list(app)
    schedules = _scheduler(request).of_app(app)
    return JSONResponse(
        {
            "backups": [backup_json(b) for b in backups],
            "schedules": [
                {"addon": a, "at": s.describe(), "daily": s.daily, "weekly": s.weekly}
                for a, s in schedules
            ],
        }
    )


@routes.post("/apps/{app}/backups")
async def capture(request: Request) -> StreamingResponse:
    """Body: ``{"addon": NAME}`` (optional: the app's database). NDJSON progress, then the backup."""
    _p, app = existing_app(request)
    body = await json_body(request)
    manager = _manager(request)
    addon = manager.addon_of(app, _text(body, "addon"))

    async def work(emit: Emit) -> dict[str, Any]:
        return {"backup": backup_json(await manager.capture(app, addon.name, emit))}

    return stream_operation(work)


@routes.get("/apps/{app}/backups/{id}")
async def info(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    return JSONResponse(backup_json(_manager(request).info(app, request.path_params["id"])))


@routes.delete("/apps/{app}/backups/{id}")
async def delete(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    backup = await _manager(request).delete(app, request.path_params["id"])
    return JSONResponse(backup_json(backup))


@routes.get("/apps/{app}/backups/{id}/download")
async def download(request: Request) -> StreamingResponse:
    """The backup decrypted: a pg_restore-able dump or an RDB file; its sha256 in a header."""
    _p, app = existing_app(request)
    backup, chunks = _manager(request).download(app, request.path_params["id"])
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "X-Twelve-Checksum": f"sha256={backup.checksum}",
            "Content-Length": str(backup.size),
            "Content-Disposition": f'attachment; filename="{_file_name(backup)}"',
        },
    )


def _file_name(backup: Backup) -> str:
    return f"{backup.app}-{backup.id}.{'dump' if backup.service == 'postgres' else 'rdb'}"


@routes.post("/apps/{app}/backups/{id}/verify")
async def verify(request: Request) -> StreamingResponse:
    _p, app = existing_app(request)
    manager = _manager(request)
    ident = request.path_params["id"]
    manager.info(app, ident)

    async def work(emit: Emit) -> dict[str, Any]:
        return {"backup": backup_json(await manager.verify(app, ident, emit))}

    return stream_operation(work)


@routes.post("/apps/{app}/backups/{id}/restore")
async def restore_backup(request: Request) -> StreamingResponse:
    """Body: ``{"to": ADDON, "confirm": APP}``; the id may be ``OTHERAPP::b004``."""
    _p, app = existing_app(request)
    body = await json_body(request)
    manager = _manager(request)
    principal = principal_of(request.scope)
    users = request.app.state.guard.users

    def may_read(other: str) -> None:
        platform(request).store.apps.get(other)
        if effective_role(principal, users.role(other, principal.name)) < Role.ADMIN:
            raise Forbidden(f"{principal.name} may not read the backups of {other}")

    ident, to, confirm = request.path_params["id"], _text(body, "to"), _text(body, "confirm")
    # Refusals answer as errors before any work streams: which backup, whose, and the confirm.
    ref = parse_ref(app, ident)
    if ref.app != app:
        may_read(ref.app)
    backup = manager.records.get(ref.app, ref.number)
    target = target_of(manager, app, backup, to)
    if confirm != target.app:
        raise UsageError(
            f"restoring {backup.id} replaces the data of {target.name}",
            f"to proceed, add --confirm {target.app}",
        )

    async def work(emit: Emit) -> dict[str, Any]:
        backup, target = await restore(manager, app, ident, to, confirm, emit, may_read)
        return {"backup": backup_json(backup), "addon": target.name}

    return stream_operation(work)


@routes.post("/apps/{app}/backup-schedules")
async def set_schedule(request: Request) -> JSONResponse:
    """Body: ``{"addon": NAME, "at": "02:00 UTC", "daily": 7, "weekly": 4}``."""
    _p, app = existing_app(request)
    body = await json_body(request)
    at = _text(body, "at")
    if at is None:
        raise UsageError("at is required", "for example --at '02:00 UTC'")
    addon, schedule = _scheduler(request).set(
        app, _text(body, "addon"), at, _count(body, "daily"), _count(body, "weekly")
    )
    return JSONResponse(
        {
            "addon": addon,
            "at": schedule.describe(),
            "daily": schedule.daily,
            "weekly": schedule.weekly,
        }
    )


@routes.delete("/apps/{app}/backup-schedules")
async def remove_schedule(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    addon = _scheduler(request).unset(app, request.query_params.get("addon") or None)
    return JSONResponse({"addon": addon})
