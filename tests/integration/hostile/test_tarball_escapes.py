"""Uploaded sources that try to leave the build directory, or to be enormous, are refused with a
clear error, and nothing outside the build directory is written."""

from __future__ import annotations

import io
import stat
import tarfile
import uuid
from pathlib import Path

import pytest

from twelve.build.source import MAX_SOURCE_BYTES, extract_tarball
from twelve.errors import BuildError


def entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


def tarball(*members: tarfile.TarInfo, compression: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for member in members:
            data = member.name.encode() if member.isfile() else b""
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buffer.getvalue()


def sparse_tarball(name: str, claimed_size: int) -> bytes:
    """A GNU sparse member that claims ``claimed_size`` bytes while the archive holds none."""
    header = bytearray(entry(name).tobuf(tarfile.GNU_FORMAT))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    header[483:495] = b"%011o\0" % claimed_size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + b"\0" * tarfile.RECORDSIZE


@pytest.fixture
def build_root(tmp_path: Path) -> Path:
    """``tmp_path/build`` is the build directory; ``tmp_path/outside`` must stay as it is."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("untouched")
    return tmp_path / "build"


def assert_nothing_outside(build_root: Path, before: set[Path]) -> None:
    after = set(build_root.parent.rglob("*"))
    assert all(build_root in p.parents or p == build_root for p in after - before), after - before
    assert (build_root.parent / "outside" / "keep.txt").read_text() == "untouched"
    assert sorted((build_root.parent / "outside").iterdir()) == [
        build_root.parent / "outside" / "keep.txt"
    ]


ABSOLUTE = f"/tmp/twelve-escape-{uuid.uuid4().hex}"
ESCAPES = {
    "absolute path": [entry(ABSOLUTE)],
    "dot-dot": [entry("../../outside/escaped")],
    "dot-dot inside a path": [entry("app/../../../outside/escaped")],
    "symlink to an absolute path, then a file through it": [
        entry("out", tarfile.SYMTYPE, str(Path(ABSOLUTE).parent)),
        entry("out/escaped"),
    ],
    "relative symlink that climbs out": [entry("up", tarfile.SYMTYPE, "../../outside")],
    "symlink chain that climbs out": [
        entry("sub", tarfile.DIRTYPE, mode=0o755),
        entry("sub/one", tarfile.SYMTYPE, ".."),
        entry("sub/two", tarfile.SYMTYPE, "one/../.."),
        entry("sub/two/outside/escaped"),
    ],
    "hard link to a file outside": [entry("hard", tarfile.LNKTYPE, "../outside/keep.txt")],
    "character device": [entry("tty", tarfile.CHRTYPE)],
    "block device": [entry("disk", tarfile.BLKTYPE)],
    "fifo": [entry("pipe", tarfile.FIFOTYPE)],
}


@pytest.mark.parametrize("compression", ["", "gz"])
@pytest.mark.parametrize("name", list(ESCAPES))
def test_a_source_that_reaches_outside_is_refused_and_writes_nothing_outside(
    build_root: Path, name: str, compression: str
) -> None:
    before = set(build_root.parent.rglob("*"))
    data = tarball(entry("Procfile"), *ESCAPES[name], compression=compression)
    with pytest.raises(BuildError, match=r"refused") as raised:
        extract_tarball(data, build_root / "app")
    assert "\n" not in raised.value.message, "one line"
    assert_nothing_outside(build_root, before)
    assert not Path(ABSOLUTE).exists() and not Path(ABSOLUTE).is_symlink()


def test_a_source_claiming_more_than_the_size_limit_is_refused_before_writing(
    build_root: Path,
) -> None:
    before = set(build_root.parent.rglob("*"))
    with pytest.raises(BuildError, match="larger than 1 GiB"):
        extract_tarball(sparse_tarball("huge.bin", MAX_SOURCE_BYTES + 1), build_root / "app")
    assert_nothing_outside(build_root, before)
    assert not (build_root / "app" / "huge.bin").exists()


def test_modes_that_would_give_away_the_slug_are_dropped(build_root: Path) -> None:
    """Set-user-ID bits and world-writable files do not survive into the build directory."""
    extract_tarball(
        tarball(entry("bin/run", mode=0o4777), entry("data", mode=0o666)), build_root / "app"
    )
    for name in ("bin/run", "data"):
        mode = stat.S_IMODE((build_root / "app" / name).stat().st_mode)
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH), (name, oct(mode))


def test_links_that_stay_inside_the_app_are_kept(build_root: Path) -> None:
    extract_tarball(
        tarball(entry("static/app.css"), entry("current", tarfile.SYMTYPE, "static")),
        build_root / "app",
    )
    assert (build_root / "app" / "current" / "app.css").read_text() == "static/app.css"
