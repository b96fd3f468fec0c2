"""Where a process's cgroups are made: under a directory of its installation's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twelve.supervisor.limits import CgroupManager, cgroup_name
from twelve.values import Limits


def test_each_installation_has_a_cgroup_directory_of_its_own(tmp_path: Path) -> None:
    first, second = cgroup_name(tmp_path / "a"), cgroup_name(tmp_path / "b")
    assert first != second
    assert first == cgroup_name(tmp_path / "a" / ".." / "a"), "the same home, however spelt"
    assert first.startswith("twelve-") and len(first) == len("twelve-") + 8


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are made only by a root daemon")
def test_two_installations_running_the_same_app_never_share_its_cgroups(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory pids\n")  # a v2 hierarchy's mark
    made = [
        CgroupManager(root, name=cgroup_name(tmp_path / home)).create(
            "hello", "web.1", Limits(memory=256 << 20)
        )
        for home in ("one", "two")
    ]
    assert made[0] is not None and made[1] is not None
    assert made[0].dirs[0] != made[1].dirs[0]
    for cgroups in made:
        assert cgroups is not None
        assert (cgroups.dirs[0] / "memory.max").read_text() == str(256 << 20)
