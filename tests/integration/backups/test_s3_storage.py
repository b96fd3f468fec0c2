"""Backups stored on S3-compatible storage: a real moto server on loopback, started here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest

from support import requires_service, wait_for
from twelve.backups.restoring import restore
from twelve.compose import compose
from twelve.settings import Settings

from .conftest import POSTGRES_ADMIN, REDIS_ADMIN, listening, unique
from .test_postgres_backups import data_only, seed

AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[str]:
    """moto in server mode on a free port (chosen up front: retried if taken meanwhile)."""
    for _ in range(5):
        port = _free_port()
        log = (tmp_path / "moto.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for(
                lambda p=port, proc=process: listening(p) or proc.poll() is not None, 30, "moto"
            )
            if process.poll() is None:
                yield f"http://127.0.0.1:{port}"
                return
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    pytest.fail(f"moto did not start: {(tmp_path / 'moto.log').read_text()[-2000:]}")


def test_backups_go_to_s3_encrypted_and_come_back(
    s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requires_service("PostgreSQL on 127.0.0.1:5432", listening(5432))
    for key, value in AWS.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket="twelve-backups")
    settings = Settings.from_environ(
        {
            "TWELVE_HOME": str(tmp_path / "home"),
            "TWELVE_POSTGRES_ADMIN_URL": POSTGRES_ADMIN,
            "TWELVE_REDIS_ADMIN_URL": REDIS_ADMIN,
            "TWELVE_BACKUP_URL": "s3://twelve-backups/nightly",
            "TWELVE_BACKUP_S3_ENDPOINT": s3_server,
        }
    )
    graph = compose(settings, "token")
    loop = asyncio.new_event_loop()
    app = unique("bks3")
    try:
        graph.store.apps.create(app)
        assert graph.platform.addons is not None and graph.platform.backups is not None
        addon, _ = loop.run_until_complete(graph.platform.addons.create(app, "postgres"))
        seed(addon.url, 400)
        before = data_only(addon)
        made = loop.run_until_complete(graph.platform.backups.capture(app, None))
        assert made.status == "verified", made.reason
        key = f"nightly/{app}/b001.dump.sealed"
        stored = s3.get_object(Bucket="twelve-backups", Key=key)["Body"].read()
        assert len(stored) == made.stored_size
        assert b"note 17" not in stored, "encrypted before it left the machine"
        assert not (settings.home / "backups").exists(), "nothing kept locally"

        with psycopg.connect(addon.url, autocommit=True) as conn:
            conn.execute("DROP TABLE tags")
        loop.run_until_complete(restore(graph.platform.backups, app, "b001", None, app, print))
        assert data_only(addon) == before

        again = loop.run_until_complete(graph.platform.backups.verify(app, "b001"))
        assert again.status == "verified", "the stored object is checked again"
        loop.run_until_complete(graph.platform.backups.delete(app, "b001"))
        assert s3.list_objects_v2(Bucket="twelve-backups").get("KeyCount", 0) == 0
    finally:
        loop.run_until_complete(graph.platform.addons.destroy_all(app))  # type: ignore[union-attr]
        graph.store.close()
        loop.close()
