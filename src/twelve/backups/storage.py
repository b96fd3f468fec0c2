"""Where sealed backup files go: a local directory, or S3-compatible object storage.

``TWELVE_BACKUP_URL`` chooses: a path (default ``TWELVE_HOME/backups``) or ``s3://bucket/prefix``
with the usual AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``) and
``TWELVE_BACKUP_S3_ENDPOINT`` for a server other than AWS. Files are sealed (seal.py) before they
are stored, so neither place ever holds a readable backup. The methods block: call them in a thread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from twelve.errors import ConfigError, ServiceError


class Storage(Protocol):
    description: str

    def put(self, local: Path, name: str) -> None:
        """Store the file at ``local`` (which is then removed) as ``name``."""
        ...

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[BinaryIO]:
        """The stored file, as a stream."""
        ...

    def delete(self, name: str) -> None:
        """Remove ``name``; one already gone is not an error."""
        ...


class LocalStorage:
    """A directory on this machine (0700, files 0600)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def _path(self, name: str) -> Path:
        return self.root / name

    def put(self, local: Path, name: str) -> None:
        target = self._path(name)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(local, 0o600)
        try:
            os.replace(local, target)
        except OSError:  # another file system: copy, then remove
            shutil.copyfile(local, target)
            local.unlink()

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[BinaryIO]:
        try:
            handle = self._path(name).open("rb")
        except FileNotFoundError:
            raise ServiceError(f"the backup file {name} is missing from {self.root}") from None
        with handle:
            yield handle

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


class S3Storage:
    """A bucket and key prefix on S3 or a server that speaks its API."""

    def __init__(self, bucket: str, prefix: str, endpoint: str | None) -> None:
        import boto3  # noqa: PLC0415 (only a platform that stores on S3 loads it)

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client: Any = boto3.client("s3", endpoint_url=endpoint)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _fail(self, action: str, exc: Exception) -> ServiceError:
        text = str(exc).strip().splitlines()
        return ServiceError(
            f"cannot {action} {self.description}: {text[0] if text else type(exc).__name__}",
            "check TWELVE_BACKUP_URL, TWELVE_BACKUP_S3_ENDPOINT and the AWS_* variables",
        )

    def put(self, local: Path, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self._client.upload_file(str(local), self.bucket, self._key(name))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("upload a backup to", exc) from None
        finally:
            local.unlink(missing_ok=True)

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[BinaryIO]:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"read {name} from", exc) from None
        try:
            yield body
        finally:
            body.close()

    def delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"delete {name} from", exc) from None


def check_url(name: str, url: str) -> None:
    """A ConfigError naming ``name`` unless ``url`` is an absolute directory or s3://BUCKET."""
    if url.startswith("s3://"):
        if not urlsplit(url).hostname:
            raise ConfigError(f"{name}={url!r} names no bucket", "use s3://BUCKET/PREFIX")
        return
    if "://" in url and not url.startswith("file://"):
        raise ConfigError(
            f"{name}={url!r} is neither a directory nor s3://",
            "use an absolute path or s3://BUCKET/PREFIX",
        )
    if not Path(url.removeprefix("file://")).expanduser().is_absolute():
        raise ConfigError(f"{name}={url!r} is not an absolute path")


def storage_from_url(url: str | None, home: Path, endpoint: str | None) -> Storage:
    """The storage ``TWELVE_BACKUP_URL`` names (None: ``home/backups``)."""
    if not url:
        return LocalStorage(home / "backups")
    check_url("TWELVE_BACKUP_URL", url)
    if url.startswith("s3://"):
        parts = urlsplit(url)
        return S3Storage(parts.netloc, parts.path, endpoint)
    return LocalStorage(Path(url.removeprefix("file://")).expanduser())
