"""Which storage TWELVE_BACKUP_URL names, and the one-line errors for what it cannot be."""

from __future__ import annotations

from pathlib import Path

import pytest

from twelve.backups.storage import LocalStorage, S3Storage, storage_from_url
from twelve.errors import ConfigError
from twelve.settings import Settings


def test_the_default_is_a_directory_in_the_home(tmp_path: Path) -> None:
    storage = storage_from_url(None, tmp_path, None)
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "backups"


def test_a_directory_or_a_bucket_and_prefix(tmp_path: Path) -> None:
    local = storage_from_url(str(tmp_path / "elsewhere"), tmp_path, None)
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "elsewhere"
    s3 = storage_from_url("s3://backups/twelve/prod/", tmp_path, "http://127.0.0.1:9")
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.description) == (
        "backups",
        "twelve/prod",
        "s3://backups/twelve/prod",
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("backups", "absolute"),
        ("ftp://host/backups", "neither a directory nor s3://"),
        ("s3:///prefix", "names no bucket"),
    ],
)
def test_what_cannot_be_a_backup_url_names_the_variable(
    tmp_path: Path, url: str, says: str
) -> None:
    with pytest.raises(ConfigError, match="TWELVE_BACKUP_URL") as caught:
        storage_from_url(url, tmp_path, None)
    assert says in str(caught.value)


def test_a_bad_backup_url_stops_the_platform_at_start() -> None:
    with pytest.raises(ConfigError, match="TWELVE_BACKUP_URL"):
        Settings.from_environ({"TWELVE_BACKUP_URL": "relative/dir"})
    assert Settings.from_environ({"TWELVE_BACKUP_URL": "s3://b/p"}).backup_url == "s3://b/p"
