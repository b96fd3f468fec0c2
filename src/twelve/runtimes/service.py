"""The platform's runtimes: list, install (from a download or this machine), adopt, remove.

Installs are blocking work (copies, downloads); callers in the daemon run them in a thread. One
lock serialises them, so two builds asking for the same missing version install it once.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twelve.build.detect import node_version
from twelve.build.semver import parse_version, satisfies
from twelve.errors import BuildError, Conflict, NotFound, TwelveError
from twelve.runtimes import catalog, node, python
from twelve.runtimes.catalog import Runtime
from twelve.runtimes.resolve import Pick, Version, choose_node, choose_python, label
from twelve.runtimes.usage import runtime_users
from twelve.settings import Settings, uv_binary
from twelve.store import Store

Emit = Callable[[str], None]
_LOCK = threading.Lock()


class RegistryUnreachable(BuildError):
    """No source of Node.js releases answered; the build may go on with the machine's node."""


class Runtimes:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.runtimes_dir
        self._download_failed: set[str] = set()  # languages whose downloads failed this life

    def _env(self) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.settings.home),
            "UV_NO_PROGRESS": "1",
            "UV_NATIVE_TLS": "1",
            # One retry: where downloads cannot work a build falls back to a copy at once.
            "UV_HTTP_RETRIES": "1",
            "NPM_CONFIG_CACHE": str(self.settings.home / "cache" / "npm"),
            "NPM_CONFIG_UPDATE_NOTIFIER": "false",
        }
        env.update(self.settings.network_environ)
        if self.settings.python_install_mirror:
            env["UV_PYTHON_INSTALL_MIRROR"] = self.settings.python_install_mirror
        return env

    def installed(self, language: str | None = None) -> list[Runtime]:
        return catalog.installed(self.root, language) if self.root.is_dir() else []

    # Python

    def python_offers(self, *, with_downloads: bool) -> dict[str, set[Version]]:
        offers = {
            "installed": {r.version for r in self.installed("python")},
            "machine": set(python.machine_interpreters()),
        }
        downloads = with_downloads and self.settings.python_downloads
        if downloads and "python" not in self._download_failed:
            offers["download"] = python.downloadable(uv_binary(), self._env())
        return offers

    def ensure_python(
        self, request: tuple[int, int, int | None] | None, emit: Emit
    ) -> tuple[Runtime, str | None]:
        """The runtime for ``request``, installed now when missing; with the resolution's note."""
        default = None
        if request is None and self.settings.python_default:
            from twelve.build.interpreters import parse_requested  # noqa: PLC0415

            default = parse_requested(self.settings.python_default, "TWELVE_PYTHON_DEFAULT")
        with _LOCK:
            pick = choose_python(request, self.python_offers(with_downloads=False), default)
            if pick.source != "installed" or (request and request[2] is None):
                # Only ask for downloads when something may need installing: listing costs.
                pick = choose_python(request, self.python_offers(with_downloads=True), default)
            return self._provide_python(pick, request, default, emit), pick.note

    def _provide_python(
        self,
        pick: Pick,
        request: tuple[int, int, int | None] | None,
        default: tuple[int, int, int | None] | None,
        emit: Emit,
    ) -> Runtime:
        if pick.source == "installed":
            found = catalog.find(self.root, "python", pick.version)
            assert found is not None
            return found
        if pick.source == "download":
            try:
                return python.download(self.root, pick.version, uv_binary(), self._env(), emit)
            except TwelveError as exc:
                self._download_failed.add("python")
                emit(f"{exc.message}; looking for Python on this machine instead")
                offers = self.python_offers(with_downloads=False)
                return self._provide_python(
                    choose_python(request, offers, default), None, None, emit
                )
        return python.adopt(self.root, python.machine_interpreters()[pick.version], emit)

    def install(self, spec: str, emit: Emit) -> Runtime:
        """``python@3.12``, ``python@3.12.7``, ``node@20``: the newest match, installed now."""
        language, numbers = catalog.parse_spec(spec)
        if language == "python":
            request = (numbers[0], numbers[1], numbers[2] if len(numbers) > 2 else None)
            runtime, note = self.ensure_python(request, emit)
            if note:
                emit(note)
            return runtime
        engine = ".".join(map(str, numbers)) if len(numbers) == 3 else f"{numbers[0]}.x"
        if len(numbers) == 2:
            engine = f"~{numbers[0]}.{numbers[1]}.0"
        found = self.ensure_node(engine, emit, use_machine=False)
        assert found is not None
        return found

    def add(self, path: str, emit: Emit) -> Runtime:
        """Adopt the interpreter at ``path`` (copied, so every app user can run it)."""
        try:
            runnable = Path(path).is_file() and os.access(path, os.X_OK)
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte
            runnable = False
        if not runnable:
            raise NotFound(f"{path} is not an executable file", "give the path of a python3.X")
        with _LOCK:
            return python.adopt(self.root, path, emit)

    # Node

    def ensure_node(self, engine: str, emit: Emit, *, use_machine: bool = True) -> Runtime | None:
        """The runtime for ``engines.node``; None when the machine's own node satisfies it."""
        machine_text = node_version() if use_machine else None
        machine = parse_version(machine_text) if machine_text else None
        with _LOCK:
            installed = {r.version for r in self.installed("node")}
            offers: dict[str, set[Version]] = {"installed": installed}
            local = [*installed, *([machine] if machine else [])]
            if not any(satisfies(v, engine) for v in local):
                # Only ask the registry when nothing here fits: the listing costs a round trip.
                offers["download"] = node.downloadable(self._env())
                if not offers["download"]:
                    raise RegistryUnreachable(
                        f"engines.node {engine!r} needs a Node.js this machine does not have, "
                        "and the npm registry cannot be reached",
                        "install it on the machine, or run 'twelve runtimes:install node@VERSION' "
                        "where the registry is reachable; the running release keeps serving",
                    )
            pick = choose_node(engine, offers, machine)
            if pick is None:
                return None
            if pick.source == "installed":
                return catalog.find(self.root, "node", pick.version)
            return node.install(self.root, pick.version, self._env(), emit)

    # Removal

    def remove(self, spec: str, store: Store) -> Runtime:
        """Delete a runtime no live release, nor a rollback target of the last 10, uses."""
        language, numbers = catalog.parse_spec(spec)
        if len(numbers) != 3:
            raise NotFound(f"{spec} names no single runtime", "give the full version, e.g. 3.12.7")
        version = (numbers[0], numbers[1], numbers[2])
        found = catalog.find(self.root, language, version)
        if found is None:
            raise NotFound(f"no runtime {language}@{label(version)}", "see 'twelve runtimes'")
        users = runtime_users(store).get(found.key, [])
        if users:
            raise Conflict(
                f"{found.key} is used by {', '.join(users)}",
                "deploy those apps on another version first; removing it would break them",
            )
        shutil.rmtree(found.path)
        return found

    def describe_all(self, store: Store) -> list[dict[str, Any]]:
        users = runtime_users(store)
        return [catalog.describe(r, users.get(r.key, [])) for r in self.installed()]
