"""Backups of add-ons: capture, verify, list, download, delete, restore, and daily schedules.

A capture streams the dump (or snapshot) into a sealed file, then restores that very file into a
scratch database (or Redis) and compares it with what the source held at the snapshot. Only then
is the file stored and the backup ``verified``; a backup that fails is kept with its reason, logged
as an error, and never counted by retention in place of a good one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twelve.addons.manager import AddonManager
from twelve.addons.postgres import PostgresProvider
from twelve.addons.redis import RedisProvider
from twelve.backups import files, postgres, redis, seal
from twelve.backups.files import SealedWriter
from twelve.backups.storage import Storage, storage_from_url
from twelve.deploy import Deployer
from twelve.errors import Conflict, NotFound, ServiceError, TwelveError, UsageError
from twelve.settings import Settings
from twelve.store import Store
from twelve.store.addons import Addon
from twelve.store.backups import (
    CAPTURING,
    FAILED,
    VERIFIED,
    VERIFYING,
    Backup,
    parse_id,
)

log = logging.getLogger("backups")
Emit = Callable[[str], None]
Event = Callable[[str, str, str], None]
SERVICES = ("postgres", "redis")
PROGRESS_EVERY = 64 << 20


def _quiet(_text: str) -> None:
    pass


def mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


class BackupManager:
    """The one place that makes, checks, removes and restores backups."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        addons: AddonManager,
        deployer: Deployer,
        event: Event,
        routes_changed: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        path: str | None = None,
    ) -> None:
        self.settings = settings
        self.records = store.backups
        self.addons = addons
        self.deployer = deployer
        self.event = event
        self.routes_changed = routes_changed
        self.clock = clock
        self.path = os.environ.get("PATH", "") if path is None else path
        self.keys = store.db.cipher.subkeys(seal.PURPOSE)
        self.work = settings.home / "work" / "backups"
        self.maintenance: set[str] = set()  # apps whose web answers H80 (a restore is under way)
        self.busy: set[str] = set()  # add-ons being captured or restored
        self._storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            s = self.settings
            self._storage = storage_from_url(s.backup_url, s.home, s.backup_s3_endpoint)
        return self._storage

    # -- which add-on ---------------------------------------------------------------------------

    def addon_of(self, app: str, name: str | None) -> Addon:
        """The named add-on of ``app``, else its database: DATABASE_URL's, then any postgres,
        then any redis add-on twelve made."""
        if name:
            addon = self.addons.info(name)
            if addon.app != app:
                raise Conflict(f"{name} belongs to {addon.app}, not {app}")
            self.backupable(addon)
            return addon
        candidates = [a for a in self.addons.list(app) if a.provisioned and a.service in SERVICES]
        candidates.sort(key=lambda a: (a.config_var != "DATABASE_URL", a.service != "postgres"))
        if not candidates:
            raise NotFound(
                f"{app} has no postgres or redis add-on to back up",
                f"make one with 'twelve addons:create postgres -a {app}'",
            )
        return candidates[0]

    @staticmethod
    def backupable(addon: Addon) -> None:
        if not addon.provisioned or addon.service not in SERVICES:
            raise UsageError(
                f"{addon.name} is an attached URL; twelve backs up the add-ons it made",
                "back it up where it is hosted",
            )

    # -- capture and verify ---------------------------------------------------------------------

    async def capture(
        self, app: str, name: str | None, emit: Emit = _quiet, scheduled: bool = False
    ) -> Backup:
        """Capture and verify a backup of an add-on of ``app``; the record, verified or not."""
        addon = self.addon_of(app, name)
        if addon.name in self.busy:
            raise Conflict(f"a backup or restore of {addon.name} is under way", "wait for it")
        self.busy.add(addon.name)
        try:
            return await self._capture(addon, emit, scheduled)
        finally:
            self.busy.discard(addon.name)

    async def _capture(self, addon: Addon, emit: Emit, scheduled: bool) -> Backup:
        if not self.keys:
            raise ServiceError("the platform has no secret key to encrypt backups with")
        record = self.records.start(addon.app, addon.name, addon.service, scheduled, self.clock())
        emit(f"Capturing {record.id} of {addon.name} ({addon.service})")
        staging = self.work / f"{addon.app}-{record.id}.sealed"
        writer = SealedWriter(staging, self.keys[0])
        shown = [0]

        def sink(chunk: bytes) -> None:
            writer.write(chunk)
            if writer.size - shown[0] >= PROGRESS_EVERY:
                shown[0] = writer.size
                emit(f"  {mib(writer.size)} captured")

        problems: list[str] = []
        dumped = [0.0]

        def mark() -> None:
            dumped[0] = self.clock()

        try:
            try:
                details, version = await self._dump(addon, sink, mark)
            except BaseException:
                writer.abandon()
                raise
            stored_size = writer.close()
            record = self.records.update(
                addon.app,
                record.number,
                status=VERIFYING,
                size=writer.size,
                stored_size=stored_size,
                checksum=writer.hash.hexdigest(),
                server_version=version,
                details=details,
                finished_at=dumped[0] or self.clock(),
            )
            emit(f"Captured {mib(writer.size)} in {record.duration or 0:.1f}s; verifying")
            problems = await self._check(record, addon, lambda: staging.open("rb"))
            # A file that fails verification is stored too, to be downloaded and looked at.
            await asyncio.to_thread(self.storage.put, staging, record.file_name)
        except TwelveError as exc:
            problems = [exc.message]
        except asyncio.CancelledError:
            self.records.update(addon.app, record.number, status=FAILED, reason="cancelled")
            raise
        finally:
            staging.unlink(missing_ok=True)
        if problems:
            return self._failed(record, "; ".join(problems), emit)
        record = self.records.update(
            addon.app, record.number, status=VERIFIED, reason="", verified_at=self.clock()
        )
        text = f"Backup {record.id} of {addon.name} verified ({mib(record.size)})"
        emit(text)
        self.event(addon.app, "backups", text)
        return record

    def _failed(self, record: Backup, reason: str, emit: Emit) -> Backup:
        record = self.records.update(record.app, record.number, status=FAILED, reason=reason)
        text = f"Backup {record.id} of {record.addon} failed: {reason}"
        emit(text)
        log.error("%s: %s", record.app, text)
        self.event(record.app, "backups", text)
        return record

    async def _dump(
        self, addon: Addon, sink: Callable[[bytes], None], dumped: Callable[[], None]
    ) -> tuple[Any, str]:
        if addon.service == "postgres":
            sums, version = await postgres.capture(addon.url, self.path, sink, dumped)
            return {"tables": sums}, version
        sync_url, database = await self.redis_admin(addon)
        return await redis.capture(addon.url, sync_url, database, self.redis_bin(), self.work, sink)

    async def _check(self, record: Backup, addon: Addon | None, opener: files.Opener) -> list[str]:
        """Restore the sealed file into a scratch copy and compare: the problems found."""
        digest = hashlib.sha256()
        chunks = files.plaintext(opener, self.keys, f"backup {record.id}", digest)
        async with contextlib.aclosing(chunks):
            if record.service == "postgres":
                admin = await self.postgres_admin(addon)
                expected = record.details.get("tables", {})
                problems = await postgres.verify(admin, self.path, chunks, expected)
            else:
                problems = await redis.verify(chunks, self.redis_bin(), self.work, record.details)
        if digest.hexdigest() != record.checksum:
            problems.insert(0, "its checksum differs from the one taken at capture")
        return problems

    async def verify(self, app: str, ref: str, emit: Emit = _quiet) -> Backup:
        """Check a stored backup again (the file may have been damaged since)."""
        record = self.records.get(app, parse_id(ref))
        if record.status in (CAPTURING, VERIFYING):
            raise Conflict(f"{record.id} is still being captured")
        addon = self._live_addon(record.addon)
        try:
            problems = await self._check(
                record, addon, lambda: self.storage.reader(record.file_name)
            )
        except TwelveError as exc:
            problems = [exc.message]
        if problems:
            return self._failed(record, "; ".join(problems), emit)
        emit(f"Backup {record.id} verified")
        return self.records.update(
            app, record.number, status=VERIFIED, reason="", verified_at=self.clock()
        )

    def _live_addon(self, name: str) -> Addon | None:
        try:
            return self.addons.info(name)
        except NotFound:
            return None

    async def postgres_admin(self, addon: Addon | None) -> str:
        """An admin URL of the server ``addon`` is on (else of the one twelve provisions on)."""
        if addon is not None:
            provider = await self.addons.provider_of(addon)
        else:
            _choice, provider = await self.addons.registry.provider("postgres")
        if not isinstance(provider, PostgresProvider):
            raise ServiceError("no PostgreSQL server to verify the backup on")
        return provider.admin_url

    async def redis_admin(self, addon: Addon) -> tuple[str, int | None]:
        """A URL allowed to take a snapshot of ``addon``'s server, and its database when shared."""
        if "dedicated" in addon.resource:
            return addon.url, None
        provider = await self.addons.provider_of(addon)
        if not isinstance(provider, RedisProvider):
            raise ServiceError(f"cannot reach the Redis server of {addon.name} as an admin")
        return provider.admin_url, int(addon.resource["database"])

    def redis_bin(self) -> str:
        bins = self.addons.registry.runner.binaries("redis")
        if bins is None:
            raise ServiceError(
                "verifying and restoring Redis backups needs redis-server on this machine",
                "install redis-server",
            )
        return bins.tool("redis-server")

    # -- the rest -------------------------------------------------------------------------------

    def list(self, app: str) -> list[Backup]:
        self.addons.store.apps.get(app)
        return self.records.of_app(app)

    def info(self, app: str, ref: str) -> Backup:
        return self.records.get(app, parse_id(ref))

    async def delete(self, app: str, ref: str) -> Backup:
        record = self.records.get(app, parse_id(ref))
        if record.status in (CAPTURING, VERIFYING):
            raise Conflict(f"{record.id} is still being captured", "wait for it to finish")
        await asyncio.to_thread(self.storage.delete, record.file_name)
        self.records.mark_deleted(app, record.number, self.clock())
        return record

    def download(self, app: str, ref: str) -> tuple[Backup, AsyncIterator[bytes]]:
        """The backup and its plaintext (decrypted here: the CLI gets a pg_restore-able dump)."""
        record = self.records.get(app, parse_id(ref))
        if record.status in (CAPTURING, VERIFYING) or not record.checksum:
            raise Conflict(f"{record.id} has no file yet", "wait for the capture to finish")
        chunks = files.plaintext(
            lambda: self.storage.reader(record.file_name), self.keys, f"backup {record.id}"
        )
        return record, chunks

    def recover(self) -> int:
        """Backups a previous daemon left half-made are failed, their files removed (start)."""
        shutil.rmtree(self.work, ignore_errors=True)
        left = self.records.unfinished()
        for record in left:
            self.records.update(
                record.app,
                record.number,
                status=FAILED,
                reason="the daemon stopped during the capture",
            )
        return len(left)

    def restore_target_url(self, addon: Addon, admin: str | None) -> str:
        """Where a Redis restore writes: the add-on's own server, else its database as admin."""
        if admin is None or "dedicated" in addon.resource:
            return addon.url
        return urlsplit(admin)._replace(path=f"/{int(addon.resource['database'])}").geturl()

    def scratch_dir(self) -> Path:
        return self.work
