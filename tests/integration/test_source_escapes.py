"""Deploy inputs that try to leave the build directory are refused, and nothing lands outside."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from twelve.build.source import MAX_SOURCE_FILES, extract_tarball
from twelve.errors import BuildError


def tarball(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member in members:
            if member.isfile():
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
            else:
                archive.addfile(member)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    "bad",
    [
        member("../escaped.txt"),
        member("/tmp/absolute-escape.txt"),
        member("app/../../escaped.txt"),
        member("link", tarfile.SYMTYPE, "/etc/passwd"),
        member("uplink", tarfile.SYMTYPE, "../../outside"),
        member("hard", tarfile.LNKTYPE, "/etc/passwd"),
        member("dev", tarfile.CHRTYPE),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink-abs", "symlink-up", "hardlink", "device"],
)
def test_escaping_members_are_refused_and_nothing_is_written_outside(
    tmp_path: Path, bad: tarfile.TarInfo
) -> None:
    dest = tmp_path / "build" / "app"
    before = set(tmp_path.rglob("*"))
    with pytest.raises(BuildError, match=r"refused|not a valid"):
        extract_tarball(tarball(member("Procfile"), bad), dest)
    after = set(tmp_path.rglob("*"))
    assert all(str(p).startswith(str(tmp_path / "build")) for p in after - before)
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/absolute-escape.txt").exists()


def test_an_enormous_file_count_is_refused(tmp_path: Path) -> None:
    members = [member(f"f{i}") for i in range(MAX_SOURCE_FILES + 1)]
    with pytest.raises(BuildError, match="more than"):
        extract_tarball(tarball(*members, data=b""), tmp_path / "app")


def test_garbage_is_not_a_tarball(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="not a valid tarball"):
        extract_tarball(b"\x00garbage" * 100, tmp_path / "app")
