"""The backup commands: capture, list, info, download, delete, verify, restore, schedule."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import click
import httpx

from twelve.cli import output
from twelve.cli.client import NOT_RUNNING_HINT
from twelve.cli.common import app_option, client, follow_operation, format_age, json_option
from twelve.errors import ServerUnavailable, ServiceError


def _size(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f} {unit}"
    return f"{size} B"


def _status(b: dict[str, Any]) -> str:
    return b["status"] if not b["reason"] else f"{b['status']}: {b['reason']}"


@click.command("backups")
@app_option
@json_option
def backups(app: str, as_json: bool) -> None:
    """List an app's backups (verified, or why not) and its backup schedules."""
    data = client().request("GET", f"/apps/{app}/backups")
    output.emit_answer(data, as_json, lambda d: _emit_backups(app, d))


def _emit_backups(app: str, data: dict[str, Any]) -> None:
    if not data["backups"]:
        output.emit(f"{app} has no backups (capture one: twelve backups:capture -a {app})")
    else:
        now = time.time()
        rows = [
            (
                b["id"],
                b["addon"],
                format_age(now - b["started_at"]) + " ago",
                _size(b["size"]),
                "schedule" if b["scheduled"] else "manual",
                _status(b),
            )
            for b in data["backups"]
        ]
        output.emit_table(("ID", "ADD-ON", "TAKEN", "SIZE", "BY", "STATUS"), rows)
    for s in data["schedules"]:
        output.emit(f"{s['addon']}: daily at {s['at']}, keeping {s['daily']} daily, "
                    f"{s['weekly']} weekly")  # fmt: skip


@click.command("backups:capture")
@app_option
@click.argument("addon", required=False)
@json_option
def backups_capture(app: str, addon: str | None, as_json: bool) -> None:
    """Back up ADDON (default: the app's database), then verify it by restoring it."""
    events = client().stream("POST", f"/apps/{app}/backups", json={"addon": addon})
    done = follow_operation(events, echo=not as_json)
    backup = done["backup"]
    if as_json:
        output.emit_json(backup)
    if backup["status"] != "verified":
        raise ServiceError(f"backup {backup['id']} is not usable: {backup['reason']}")


@click.command("backups:info")
@app_option
@click.argument("backup_id")
@json_option
def backups_info(app: str, backup_id: str, as_json: bool) -> None:
    """Show one backup: its add-on, size, checksum, duration and verification."""
    data = client().request("GET", f"/apps/{app}/backups/{backup_id}")
    output.emit_answer(data, as_json, _emit_info)


def _emit_info(b: dict[str, Any]) -> None:
    rows = [
        ("ID", b["id"]),
        ("Add-on", f"{b['addon']} ({b['service']})"),
        ("Server", b["server_version"]),
        ("Status", _status(b)),
        ("Size", _size(b["size"])),
        ("Stored", _size(b["stored_size"])),
        ("Checksum", f"sha256:{b['checksum']}"),
        ("Taken", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(b["started_at"]))),
        ("Duration", f"{b['duration']:.1f}s" if b["duration"] is not None else ""),
        ("Verified", _verified(b)),
        ("By", "schedule" if b["scheduled"] else "manual"),
    ]
    rows += [(f"  {name}", f"{count} rows") for name, count in b["tables"].items()]
    if b["keys"]:
        rows.append(("Keys", str(b["keys"][1])))
    output.emit_table(("FIELD", "VALUE"), rows)


def _verified(b: dict[str, Any]) -> str:
    if not b["verified_at"] or b["duration"] is None:
        return "no"
    took = b["verified_at"] - b["started_at"] - b["duration"]
    at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(b["verified_at"]))
    return f"{at} (restored and compared in {took:.1f}s)"


@click.command("backups:download")
@app_option
@click.argument("backup_id")
@click.option("-o", "--output", "target", help="Where to write it (default: APP-ID.dump).")
def backups_download(app: str, backup_id: str, target: str | None) -> None:
    """Download a backup, decrypted: pg_restore reads it, or redis-server loads it."""
    api = client()
    info = api.request("GET", f"/apps/{app}/backups/{backup_id}")
    suffix = "dump" if info["service"] == "postgres" else "rdb"
    path = Path(target or f"{app}-{info['id']}.{suffix}")
    partial = path.with_name(path.name + ".partial")
    digest = hashlib.sha256()
    try:
        with api.download(f"/apps/{app}/backups/{backup_id}/download") as response:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                for chunk in response.iter_bytes(1 << 20):
                    digest.update(chunk)
                    handle.write(chunk)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.ProtocolError):
            raise ServerUnavailable(f"lost the twelve server: {exc}", NOT_RUNNING_HINT) from None
        raise ServiceError(f"the download of {info['id']} was cut short") from None
    if digest.hexdigest() != info["checksum"]:
        partial.unlink(missing_ok=True)
        raise ServiceError(f"the download of {info['id']} does not match its checksum")
    partial.replace(path)
    output.emit(f"Wrote {info['id']} ({_size(info['size'])}) to {path}")


@click.command("backups:delete")
@app_option
@click.argument("backup_id")
@json_option
def backups_delete(app: str, backup_id: str, as_json: bool) -> None:
    """Delete a backup and its stored file."""
    data = client().request("DELETE", f"/apps/{app}/backups/{backup_id}")
    output.emit_answer(data, as_json, lambda d: output.emit(f"Deleted {d['id']} of {app}"))


@click.command("backups:verify")
@app_option
@click.argument("backup_id")
def backups_verify(app: str, backup_id: str) -> None:
    """Restore a stored backup into a scratch copy again and compare it with its source."""
    events = client().stream("POST", f"/apps/{app}/backups/{backup_id}/verify")
    backup = follow_operation(events)["backup"]
    if backup["status"] != "verified":
        raise ServiceError(f"backup {backup['id']} is not usable: {backup['reason']}")


@click.command("backups:restore")
@app_option
@click.argument("backup_id", required=False)
@click.option("--from", "source", help="OTHERAPP::b004: another app's backup.")
@click.option("--to", "to", help="The add-on to restore into (default: the backup's own).")
@click.option("--confirm", help="The app whose data is replaced, to confirm.")
def backups_restore(
    app: str, backup_id: str | None, source: str | None, to: str | None, confirm: str | None
) -> None:
    """Replace an add-on's data with a verified backup; the app is in maintenance meanwhile."""
    ident = source or backup_id
    if not ident:
        raise click.UsageError("name a backup (b004) or --from OTHERAPP::b004")
    events = client().stream(
        "POST", f"/apps/{app}/backups/{ident}/restore", json={"to": to, "confirm": confirm}
    )
    follow_operation(events)


@click.command("backups:schedule")
@app_option
@click.argument("addon", required=False)
@click.option("--at", "at", required=True, help="Time of day: '02:00 UTC', '03:30 Europe/Paris'.")
@click.option("--daily", type=int, help="Daily backups kept (default 7).")
@click.option("--weekly", type=int, help="Weekly backups kept (default 4).")
def backups_schedule(
    app: str, addon: str | None, at: str, daily: int | None, weekly: int | None
) -> None:
    """Back ADDON up every day at a time (a run missed while twelve was down runs at start)."""
    body = {"addon": addon, "at": at, "daily": daily, "weekly": weekly}
    s = client().request("POST", f"/apps/{app}/backup-schedules", json=body)
    output.emit(
        f"{s['addon']} is backed up daily at {s['at']}, keeping {s['daily']} daily "
        f"and {s['weekly']} weekly backups"
    )


@click.command("backups:unschedule")
@app_option
@click.argument("addon", required=False)
def backups_unschedule(app: str, addon: str | None) -> None:
    """Stop the daily backups of ADDON (its backups stay)."""
    data = client().request(
        "DELETE", f"/apps/{app}/backup-schedules", params={"addon": addon or ""}
    )
    output.emit(f"{data['addon']} is no longer backed up on a schedule")


commands = [
    backups,
    backups_capture,
    backups_info,
    backups_download,
    backups_delete,
    backups_verify,
    backups_restore,
    backups_schedule,
    backups_unschedule,
]
