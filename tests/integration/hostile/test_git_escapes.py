"""A source fetched with git is held to what an uploaded tarball is: links that lead outside the
app, and trees too large, are refused with a clear error."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from twelve.build import source
from twelve.build.source import fetch_git
from twelve.errors import BuildError


def repository(tmp_path: Path, links: dict[str, str], files: int = 1) -> Path:
    """A git repository with a Procfile, ``files - 1`` more files and the symlinks ``links``."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Procfile").write_text("web: python app.py\n")
    (repo / "public").mkdir()
    for i in range(files - 1):
        (repo / "public" / f"{i}.txt").write_text(str(i))
    for name, target in links.items():
        os.symlink(target, repo / name)
    for args in (
        ["init", "--quiet"],
        ["add", "-A"],
        ["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "--quiet", "-m", "x"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True, timeout=60)
    return repo


def fetch(repo: Path, dest: Path) -> str:
    return asyncio.run(fetch_git(str(repo), None, dest))


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("../../outside/keep.txt", id="climbing"),
        pytest.param("public/../..", id="climbing-directory"),
    ],
)
def test_a_link_out_of_the_app_is_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("secret")
    repo = repository(tmp_path, {"leak": target})
    with pytest.raises(BuildError, match="the link 'leak' points outside the app"):
        fetch(repo, tmp_path / "build" / "app")


def test_links_that_stay_inside_the_app_are_kept(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"static": "public", "first": "public/0.txt"}, files=2)
    dest = tmp_path / "build" / "app"
    assert len(fetch(repo, dest)) == 40
    assert (dest / "first").read_text() == "0"
    assert os.readlink(dest / "static") == "public"


def test_a_tree_with_too_many_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "MAX_SOURCE_FILES", 5)
    repo = repository(tmp_path, {}, files=6)
    with pytest.raises(BuildError, match="more than 5 files"):
        fetch(repo, tmp_path / "build" / "app")
