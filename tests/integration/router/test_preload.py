"""``TWELVE_ROUTER_PRELOAD`` loads libraries first in the router, as a sanitizer's runtime needs,
and the sanitized build runs only with its runtime loaded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from subprocess_support import router_process
from support import sanitized
from twelve.router import native


def _asan_runtime() -> str:
    found = subprocess.run(
        ["cc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not os.path.isabs(found):
        pytest.skip("no AddressSanitizer runtime (libasan) to preload: apt-get install gcc")
    return os.path.realpath(found)


def _env(home: Path, **settings: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TWELVE_HOME": str(home),
        "TWELVE_ROUTER_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_WORKERS": "2",
        "ASAN_OPTIONS": "detect_leaks=0",
        **settings,
    }


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_router_and_its_workers_load_the_preloaded_runtime_and_run_the_sanitized_build(
    tmp_path,
):
    """With the runtime named, the router starts itself again with it first; its workers, forked
    from it, have it too; the sanitized build is used when there is one."""
    runtime = _asan_runtime()
    env = _env(tmp_path, TWELVE_ROUTER_PRELOAD=runtime, TWELVE_ROUTER_SANITIZED="1")
    with router_process(env) as (pid, events):
        assert events[-1]["event"] == "listening", events
        assert runtime in _mapped(pid)
        workers = [int(w) for w in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        assert len(workers) == 2
        assert all(runtime in _mapped(worker) for worker in workers)
        assert events[-1]["compiled"] == native.built(sanitized=True)


def test_without_its_runtime_the_sanitized_build_is_not_used_and_the_router_says_so(tmp_path):
    """Loading it would abort the process: the router runs interpreted instead, with a warning."""
    if sanitized():  # this process has the runtime, and the router would inherit it
        pytest.skip("runs without the sanitizers' runtime only")
    if not native.built(sanitized=True):
        pytest.skip("no sanitized build (scripts/test-sanitized makes one)")
    with router_process(_env(tmp_path, TWELVE_ROUTER_SANITIZED="1")) as (_pid, events):
        assert events[-1] == {**events[-1], "event": "listening", "compiled": False}
        warnings = [str(e["message"]) for e in events if e.get("event") == "warning"]
        assert any("the router runs interpreted" in w for w in warnings), events


def test_a_preload_that_is_no_file_stops_the_router_with_one_line_naming_it(tmp_path):
    """No exec of a library that is not there: the same error any bad setting gives."""
    env = _env(tmp_path, TWELVE_ROUTER_PRELOAD="/nonexistent/libasan.so")
    with router_process(env) as (_pid, events):
        assert events[-1]["event"] == "error"
        assert "TWELVE_ROUTER_PRELOAD names '/nonexistent/libasan.so'" in events[-1]["message"]
