"""Reading a process group's CPU and memory from /proc, and a cgroup's from its files, as the
sampler does, over files laid out as the kernel lays them out."""

from __future__ import annotations

import os
from pathlib import Path

from twelve.metrics.sampler import Usage, cgroup_usage, proc_groups, runtime_lines

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(proc: Path, pid: int, comm: str, pgrp: int, utime: int, stime: int, rss: int) -> None:
    fields = ["S", "1", str(pgrp)] + ["0"] * 8 + [str(utime), str(stime)] + ["0"] * 8 + [str(rss)]
    (proc / str(pid)).mkdir()
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)} 0 0\n")


def test_a_groups_processes_add_up_and_a_name_with_spaces_and_parens_is_read_right(tmp_path):
    _stat(tmp_path, 10, "python app.py", 10, 2 * TICKS, TICKS, 1000)
    _stat(tmp_path, 11, "worker (x) y", 10, TICKS, 0, 500)
    _stat(tmp_path, 12, "other", 12, 0, 0, 7)
    (tmp_path / "self").mkdir()  # not a process
    groups = proc_groups(tmp_path)
    assert groups[10] == Usage(4.0, 1500 * PAGE)
    assert groups[12] == Usage(0.0, 7 * PAGE)


def test_cgroup_v1_and_v2_files_give_cpu_seconds_and_rss(tmp_path):
    v1_memory, v1_cpu, v2 = tmp_path / "memory", tmp_path / "cpuacct", tmp_path / "v2"
    for d in (v1_memory, v1_cpu, v2):
        d.mkdir()
    (v1_memory / "memory.stat").write_text("cache 4096\nrss 1048576\ntotal_rss 2097152\n")
    (v1_cpu / "cpuacct.usage").write_text("1500000000\n")
    assert cgroup_usage((v1_memory, v1_cpu)) == (1.5, 2097152)
    (v2 / "memory.stat").write_text("anon 3145728\nfile 8192\n")
    (v2 / "cpu.stat").write_text("usage_usec 250000\nuser_usec 200000\n")
    assert cgroup_usage((v2,)) == (0.25, 3145728)
    assert cgroup_usage((tmp_path / "gone",)) == (None, None)


def test_runtime_metrics_lines_are_herokus():
    lines = runtime_lines("web.1", Usage(1.0, 64 << 20), 512 << 20, (0.5, 0.25, 0.125))
    assert lines == [
        "source=web.1 sample#load_avg_1m=0.50 sample#load_avg_5m=0.25 sample#load_avg_15m=0.12",
        "source=web.1 sample#memory_total=64.00MB sample#memory_rss=64.00MB"
        " sample#memory_quota=512.00MB",
    ]
