"""Test helpers: a real daemon in a temporary home, the CLI as a subprocess, polling with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from subprocess_support import run_cli
from twelve.router import native
from twelve.settings import NETWORK_VARIABLES, Settings
from twelve.supervisor import spawn

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_APPS = ROOT / "tests" / "fixtures" / "apps"
EXAMPLES = ROOT / "examples"
PYTHON_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


# The machine's PostgreSQL (user postgres, trust) and Redis, for the add-on and backup tests.
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_ADMIN = "redis://127.0.0.1:6379/0"


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def requires_service(name: str, available: bool) -> None:
    """Skip with the reason on a laptop; fail under CI=true, where every service must be there."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not running; .ci/run should have started it")
    pytest.skip(f"{name} is not running on this machine")


class Deadline:
    """``timeout`` seconds from now, for a poll; ``check`` fails naming what was waited for."""

    def __init__(self, timeout: float, message: str) -> None:
        self.timeout, self.message = timeout, message
        self.at = time.monotonic() + timeout

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise AssertionError(f"timed out after {self.timeout}s waiting for {self.message}")


def wait_for(
    predicate: Callable[[], Any], timeout: float, message: str, interval: float = 0.02
) -> Any:
    """Poll ``predicate`` until it returns something truthy, up to ``timeout`` seconds."""
    deadline = Deadline(timeout, message)
    while not (value := predicate()):
        deadline.check()
        time.sleep(interval)
    return value


async def wait_for_async(
    predicate: Callable[[], Any], timeout: float, message: str, interval: float = 0.02
) -> Any:
    """``wait_for`` inside an event loop: the loop runs on while ``predicate`` is polled."""
    deadline = Deadline(timeout, message)
    while not (value := predicate()):
        deadline.check()
        await asyncio.sleep(interval)
    return value


@contextmanager
def server_base(prefix: str, apps: tuple[str, ...] = ()) -> Iterator[Path]:
    """A directory for a daemon's home as servers have it: reachable by other users, so a root
    daemon runs each app as its own user (pytest's own temporary directories are closed). The
    users of ``apps`` are removed afterwards."""
    import tempfile  # noqa: PLC0415

    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o711)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for app in apps:
            subprocess.run(["userdel", f"tw-{app}"], capture_output=True, check=False)


def uid_of(pid: int) -> int:
    """The real user id of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in group ``pgid``."""
    return spawn.group_alive(pgid)


def pids_with_env(key: str, value: str) -> list[int]:
    """Live processes whose environment holds KEY=VALUE (to find what an app started)."""
    found = []
    needle = f"{key}={value}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue
        if needle in environ and stat[stat.rindex(b")") + 2 :].split()[0] != b"Z":
            found.append(int(entry.name))
    return found


@dataclass
class Daemon:
    """A running ``twelve server`` and a CLI pointed at it."""

    home: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    api_url: str = ""
    router_url: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable  # the twelve installation the next start runs

    def start(self, *, isolated: bool = False) -> None:
        """Start and wait for the endpoints; ``isolated``: as root, it must run each app as its
        own user (the mode of a home reachable by others, as servers have it)."""
        endpoints = self.home / "run" / "endpoints.json"
        endpoints.unlink(missing_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.python, "-m", "twelve", "server"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def ready() -> dict[str, str] | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon exited early:\n{self.output()}")
            try:
                return json.loads(endpoints.read_text())  # type: ignore[no-any-return]
            except (OSError, ValueError):
                return None

        found = wait_for(ready, 60, "the daemon to record its endpoints")
        self.api_url = found["api_url"]
        self.router_url = found["router_url"]
        if isolated and os.geteuid() == 0:
            assert "each app runs as its own system user" in self.output(), self.output()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait(10)
        self.process = None
        return code

    @staticmethod
    def cli_argv() -> list[str]:
        return [sys.executable, "-m", "twelve"]

    def cli(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = run_cli(self.env, *args, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"twelve {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\ndaemon:\n{self.output()}"
            )
        return result

    def cli_json(self, *args: str) -> object:
        return json.loads(self.cli(*args, "--json").stdout)

    def get(self, app: str, path: str = "/", timeout: float = 10) -> httpx.Response:
        """A request through the router, with the app's Host header."""
        port = self.router_url.rsplit(":", 1)[1]
        with httpx.Client(timeout=timeout) as client:
            return client.get(
                f"http://127.0.0.1:{port}{path}", headers={"Host": f"{app}.localhost"}
            )

    def recorded_processes(self) -> list[tuple[str, str, int, int]]:
        """(app, name, pid, pgid) of every process the store says the daemon runs."""
        with sqlite3.connect(self.home / "twelve.db") as db:
            rows = db.execute("SELECT app, name, pid, pgid FROM processes").fetchall()
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    def end(self) -> None:
        """Stop, then end whatever it left running and unmount what it left mounted."""
        self.stop()
        self.end_recorded_processes()
        self.unmount_scratch()

    def app_users(self) -> list[str]:
        """The system users this daemon's apps run as when it runs them isolated."""
        try:
            with sqlite3.connect(self.home / "twelve.db") as db:
                names = [row[0] for row in db.execute("SELECT name FROM apps")]
        except sqlite3.Error:
            return []
        return [f"tw-{name}"[:32] for name in names]

    def unmount_scratch(self) -> None:
        """Overlay mounts a killed daemon could not take down (a restarted one would)."""
        prefix = str(self.home.resolve()) + "/"
        for line in Path("/proc/self/mounts").read_text().splitlines():
            target = line.split()[1]
            if target.startswith(prefix):
                subprocess.run(["umount", "-l", target], check=False, capture_output=True)

    def end_recorded_processes(self) -> None:
        """Last-resort cleanup by recorded process group and the keeper's pid file, never by name."""
        for _app, _name, _pid, pgid in self.recorded_processes():
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
        self.end_keeper()

    def keeper_pid(self) -> int | None:
        try:
            return int((self.home / "run" / "keeper.pid").read_text())
        except (OSError, ValueError):
            return None

    def end_keeper(self) -> None:
        pid = self.keeper_pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def daemon_env(home: Path, uv_cache: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(home)),
        "LANG": "C.UTF-8",
        **{k: os.environ[k] for k in NETWORK_VARIABLES if k in os.environ},
        "TWELVE_HOME": str(home),
        # A login stored on this machine (~/.config/twelve) would win over the home's token file.
        "XDG_CONFIG_HOME": str(home / "cli-config"),
        "TWELVE_API_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_WORKERS": "1",
        "TWELVE_STOP_TIMEOUT": "3",
        "TWELVE_BOOT_TIMEOUT": "20",
        "TWELVE_DRAIN_TIMEOUT": "0.3",
        "TWELVE_RESTART_BACKOFF_MAX": "2",
        "TWELVE_UV_CACHE_DIR": str(uv_cache),
        "TWELVE_PYTHON_DEFAULT": PYTHON_VERSION,
        # A test's daemon takes its apps with it when it stops; tests of adoption say otherwise.
        "TWELVE_STOP_APPS": "1",
    }
    env.update(extra)
    return env


# scripts/test-sanitized runs the router's tests against the sanitized build (with this process
# and every router it starts under the sanitizers' runtime): these reach the router it starts.
SANITIZER_ENV = (
    "TWELVE_ROUTER_SANITIZED",
    "TWELVE_ROUTER_PRELOAD",
    "ASAN_OPTIONS",
    "UBSAN_OPTIONS",
    "PYTHONMALLOC",
)


def sanitized() -> bool:
    """Whether the tests run against the sanitized build (``TWELVE_ROUTER_SANITIZED=1``)."""
    return Settings.from_environ().router_sanitized


def require_native_build() -> None:
    """Skip without the compiled router build; under CI=true its absence is a failure."""
    if native.built(sanitized()):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("no compiled router build: scripts/bootstrap should have made one")
    pytest.skip("no compiled router build (python -m twelve.router.native makes one)")


def native_module_path(name: str) -> Path:
    """The file of C module ``twelve.router.<name>`` in the compiled build of these sources."""
    require_native_build()
    found = sorted((native.build_dir(sanitized()) / "twelve" / "router").glob(f"{name}.*.so"))
    assert found, f"the compiled router build has no {name} module"
    return found[0]


def load_native_module(name: str) -> ModuleType:
    """The C module ``twelve.router.<name>`` of the compiled router build of these sources, loaded
    on its own (the interpreted modules stay as they are)."""
    found = [native_module_path(name)]
    loader = importlib.machinery.ExtensionFileLoader(f"twelve.router.{name}", str(found[0]))
    spec = importlib.util.spec_from_file_location(loader.name, found[0], loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@dataclass
class Load:
    """Clients sending requests through the router as fast as they can, counting every outcome."""

    url: str
    host: str
    close: bool = False  # a new connection for every request
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self) -> None:
        with httpx.Client(timeout=10) as client:
            # Bounded: a client stops by itself after this many requests.
            for _ in range(20_000):
                if self._stop.is_set():
                    return
                try:
                    headers = {"Host": self.host} | ({"Connection": "close"} if self.close else {})
                    response = client.get(self.url, headers=headers)
                    outcome = (
                        "ok"
                        if response.status_code == 200 and "from web." in response.text
                        else (f"status {response.status_code}: {response.text[:80]}")
                    )
                except httpx.HTTPError as exc:
                    outcome = f"error {type(exc).__name__}"
                with self._lock:
                    self.outcomes[outcome] += 1

    @contextmanager
    def running(self, clients: int = 4) -> Iterator[Load]:
        threads = [threading.Thread(target=self._client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(30)

    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes.items() if k != "ok"}


def until_requests(load: Load, more: int) -> None:
    start = load.outcomes["ok"]
    wait_for(lambda: load.outcomes["ok"] >= start + more, 30, f"{more} more successful requests")
