"""Restoring a verified backup into an add-on: the app is in maintenance meanwhile.

Into the add-on it came from, or any other of the same kind, of this app or another
(``--from OTHERAPP::b004``). The app that owns the target add-on answers H80 on every web request
and has its workers stopped for the restore's duration; PostgreSQL restores in one transaction,
so a restore that fails leaves the data as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from twelve.backups import files, postgres, redis
from twelve.backups.manager import BackupManager, Emit, log
from twelve.errors import Conflict, UsageError
from twelve.store.addons import Addon
from twelve.store.backups import VERIFIED, Backup, parse_id


@dataclass(frozen=True)
class Ref:
    """Which backup: ``b004`` of the app, or ``OTHERAPP::b004``."""

    app: str
    number: int


def parse_ref(app: str, text: str) -> Ref:
    other, sep, ident = text.partition("::")
    if sep:
        if not other:
            raise UsageError(f"{text!r} names no app", "write OTHERAPP::b004")
        return Ref(other, parse_id(ident))
    return Ref(app, parse_id(text))


def target_of(manager: BackupManager, app: str, backup: Backup, to: str | None) -> Addon:
    """The add-on a restore writes into: ``--to``, else the backup's own add-on when it is
    ``app``'s, else ``app``'s add-on of the same kind."""
    if to:
        addon = manager.addons.info(to)
    else:
        mine = [
            a for a in manager.addons.list(app) if a.provisioned and a.service == backup.service
        ]
        same = [a for a in mine if a.name == backup.addon]
        if not (same or mine):
            raise Conflict(
                f"{app} has no {backup.service} add-on to restore {backup.id} into",
                "name one with --to ADDON",
            )
        addon = (same or mine)[0]
    manager.backupable(addon)
    if addon.service != backup.service:
        raise UsageError(
            f"{backup.id} is a {backup.service} backup; {addon.name} is {addon.service}",
            "restore into an add-on of the same kind",
        )
    return addon


async def restore(
    manager: BackupManager,
    app: str,
    ref_text: str,
    to: str | None,
    confirm: str | None,
    emit: Emit,
    may_read: Callable[[str], None] = lambda _app: None,
) -> tuple[Backup, Addon]:
    """Restore a backup; ``may_read`` raises when the caller may not read the other app's."""
    ref = parse_ref(app, ref_text)
    if ref.app != app:
        may_read(ref.app)
    backup = manager.records.get(ref.app, ref.number)
    if backup.status != VERIFIED:
        raise Conflict(
            f"{backup.id} of {ref.app} is {backup.status}"
            + (f" ({backup.reason})" if backup.reason else ""),
            "restore a verified backup; see 'twelve backups'",
        )
    target = target_of(manager, app, backup, to)
    if target.app != app and not to:
        raise Conflict(f"{target.name} belongs to {target.app}")
    if confirm != target.app:
        raise UsageError(
            f"restoring {backup.id} replaces the data of {target.name}",
            f"to proceed, add --confirm {target.app}",
        )
    if target.name in manager.busy:
        raise Conflict(f"a backup or restore of {target.name} is under way", "wait for it")
    manager.busy.add(target.name)
    try:
        await _into(manager, backup, target, emit)
    finally:
        manager.busy.discard(target.name)
    return backup, target


async def _into(manager: BackupManager, backup: Backup, target: Addon, emit: Emit) -> None:
    owner = target.app
    label = f"{backup.app}::{backup.id}" if backup.app != owner else backup.id
    async with manager.deployer.workers_paused(owner):
        manager.maintenance.add(owner)
        manager.routes_changed()
        emit(f"{owner} is in maintenance (H80) with its workers stopped")
        manager.event(owner, "backups", f"Restoring {label} into {target.name}")
        try:
            await _write(manager, backup, target)
        except Exception as exc:
            log.error("%s: restoring %s into %s failed: %s", owner, label, target.name, exc)
            manager.event(owner, "backups", f"Restoring {label} failed: {exc}")
            raise
        finally:
            manager.maintenance.discard(owner)
            manager.routes_changed()
    text = f"Restored {label} into {target.name}"
    emit(text)
    manager.event(owner, "backups", text)


async def _write(manager: BackupManager, backup: Backup, target: Addon) -> None:
    chunks = files.plaintext(
        lambda: manager.storage.reader(backup.file_name), manager.keys, f"backup {backup.id}"
    )
    async with contextlib.aclosing(chunks):
        if backup.service == "postgres":
            admin = await manager.postgres_admin(target)
            await postgres.end_sessions(admin, str(target.resource["database"]))
            await postgres.restore(target.url, manager.path, chunks, clean=True)
            return
        admin_url = (
            None if "dedicated" in target.resource else (await manager.redis_admin(target))[0]
        )
        await redis.restore(
            chunks,
            manager.redis_bin(),
            manager.work,
            int(backup.details.get("database", 0)),
            manager.restore_target_url(target, admin_url),
        )
