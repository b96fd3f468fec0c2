"""Where automatic certificates keep what they must not lose, under ``TWELVE_HOME/acme/``.

``account.json`` holds the ACME account's key (a JWK) and URL; ``APP/state.json`` the app's order
state (``state.OrderState``); ``APP/key.pem`` the private key of the certificate being ordered,
so a resumed order finalizes with the key its CSR was made for. Every file is 0600 in 0700
directories, written through a temporary name; none of it goes to the database or a log line.
The issued certificate itself is stored as any app's certificate is (``twelve.certs``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from twelve.acme.state import OrderState
from twelve.certs import write_private
from twelve.errors import UsageError

_APP = re.compile(r"[a-z][a-z0-9-]{0,29}")


class AcmeFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _private_dir(self, path: Path) -> Path:
        for directory in (self.root, path):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
        return path

    def _app(self, app: str) -> Path:
        if not _APP.fullmatch(app):
            raise UsageError(f"invalid app name {app!r}")
        return self.root / app

    def account(self) -> dict[str, Any] | None:
        """``{"key": JWK JSON, "uri": URL or None, "directory": URL}``, or None before the first."""
        return _read_json(self.root / "account.json")

    def save_account(self, data: dict[str, Any]) -> None:
        self._private_dir(self.root)
        write_private(self.root / "account.json", json.dumps(data).encode())

    def state(self, app: str) -> OrderState:
        data = _read_json(self._app(app) / "state.json")
        return OrderState.from_json(data) if data else OrderState()

    def save_state(self, app: str, state: OrderState) -> None:
        directory = self._private_dir(self._app(app))
        write_private(directory / "state.json", json.dumps(state.to_json()).encode())

    def order_key(self, app: str) -> bytes | None:
        with contextlib.suppress(OSError):
            return (self._app(app) / "key.pem").read_bytes()
        return None

    def save_order_key(self, app: str, key_pem: bytes) -> None:
        write_private(self._private_dir(self._app(app)) / "key.pem", key_pem)

    def remove(self, app: str) -> None:
        shutil.rmtree(self._app(app), ignore_errors=True)

    def apps(self) -> list[str]:
        """Apps with a saved state (enabled or not)."""
        with contextlib.suppress(FileNotFoundError):
            return sorted(
                e.name
                for e in os.scandir(self.root)
                if e.is_dir() and _APP.fullmatch(e.name) and Path(e.path, "state.json").exists()
            )
        return []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
