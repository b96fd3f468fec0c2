"""The optional features each app enabled (``twelve labs``), as Heroku's labs."""

from __future__ import annotations

from typing import Final

from twelve.errors import UsageError
from twelve.store.db import Store

# Every feature an app may enable, with what it does.
FEATURES: Final = {
    "log-runtime-metrics": "CPU load and memory of each process in the app's log stream, every 10 s",
}


def check_feature(name: str) -> str:
    if name not in FEATURES:
        raise UsageError(f"no feature named {name!r}", "see 'twelve labs -a APP' for the features")
    return name


class FeatureStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def enabled(self, app: str) -> set[str]:
        with self._store.transaction() as db:
            rows = db.execute("SELECT name FROM features WHERE app = ?", (app,)).fetchall()
        return {r[0] for r in rows}

    def set(self, app: str, name: str, on: bool) -> None:
        with self._store.transaction() as db:
            if on:
                db.execute("INSERT OR IGNORE INTO features VALUES (?, ?)", (app, name))
            else:
                db.execute("DELETE FROM features WHERE app = ? AND name = ?", (app, name))
