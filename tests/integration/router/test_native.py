"""The compiled router build is used only for the exact sources it was made from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from subprocess_support import router_process
from support import require_native_build
from twelve.router import native

PACKAGE = native.PACKAGE.parent  # src/twelve


def _router_start(copy: Path, home: Path) -> list[dict[str, object]]:
    """Start the router of the package copy at ``copy``; return its events up to ``listening``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(copy),
        "TWELVE_HOME": str(home),
        "TWELVE_ROUTER_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_WORKERS": "1",
    }
    with router_process(env) as (_pid, events):
        return events


def test_an_edited_router_runs_interpreted_and_says_so_until_it_is_rebuilt(tmp_path):
    """A build never runs code other than what is on disk: one changed line, and it is unused."""
    require_native_build()
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "twelve", ignore=shutil.ignore_patterns("__pycache__"))

    same = _router_start(copy, tmp_path / "home1")
    assert same[-1] == {**same[-1], "event": "listening", "compiled": True}

    proxy = copy / "twelve" / "router" / "proxy.py"
    proxy.write_text(proxy.read_text() + "\n# an edit\n")
    edited = _router_start(copy, tmp_path / "home2")
    assert edited[-1] == {**edited[-1], "event": "listening", "compiled": False}
    warnings = [e["message"] for e in edited if e.get("event") == "warning"]
    assert any("the router runs interpreted" in str(m) for m in warnings), edited


def _hotpath_in_c(pythonpath: Path) -> bool:
    """Whether a router process started on ``pythonpath`` would do its byte work in C."""
    script = (
        "from twelve.router import native\n"
        "native.activate()\n"
        "from twelve.router import head, hotpath\n"
        "print(hotpath.COMPILED_MODULE is not None and head.upstream_head is not "
        "hotpath.upstream_head_py)\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(pythonpath)}
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


def test_the_compiled_router_does_its_byte_work_in_c_and_an_edit_to_the_c_stops_that(tmp_path):
    require_native_build()
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "twelve", ignore=shutil.ignore_patterns("__pycache__"))
    assert _hotpath_in_c(copy)

    source = copy / "twelve" / "router" / "_hotpath.c"
    source.write_text(source.read_text() + "\n/* an edit */\n")
    assert not _hotpath_in_c(copy)
