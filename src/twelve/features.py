"""Per-app features: ``https-redirect`` and ``hsts`` of the router, and ``log-runtime-metrics``
(``features:enable``).

Kept in ``TWELVE_HOME/features.json`` (0600) as ``{app: {feature: value}}``; the daemon turns them
into each app's ``edge`` entry of the route table (``twelve.router.edge``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twelve.certs import write_private
from twelve.errors import UsageError

HTTPS_REDIRECT = "https-redirect"
HSTS = "hsts"
RUNTIME_METRICS = "log-runtime-metrics"  # not the router's: the metrics sampler reads it
FEATURES = {
    HTTPS_REDIRECT: "plain HTTP gets 308 to the same URL over HTTPS (ACME challenges excepted)",
    HSTS: "HTTPS responses carry Strict-Transport-Security: max-age=SECONDS",
    RUNTIME_METRICS: "each process's CPU load and memory in the log stream every 10 s, as Heroku's",
}
# The features the router serves over HTTPS only.
NEEDS_TLS = frozenset({HTTPS_REDIRECT, HSTS})
HSTS_DEFAULT_MAX_AGE = 31536000  # a year, as browsers' preload lists ask
HSTS_MIN_MAX_AGE = 0  # 0 tells browsers to forget the policy: a way back


def check_feature(name: str) -> str:
    if name not in FEATURES:
        raise UsageError(
            f"unknown feature {name!r}", f"choose one of: {', '.join(sorted(FEATURES))}"
        )
    return name


class FeatureStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def of(self, app: str) -> dict[str, Any]:
        return dict(self.all().get(app, {}))

    def set(self, app: str, feature: str, value: Any | None) -> None:
        """Turn ``feature`` on with ``value`` (``None``: off)."""
        data = self.all()
        current = data.setdefault(app, {})
        if value is None:
            current.pop(feature, None)
        else:
            current[feature] = value
        if not current:
            data.pop(app)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.path, json.dumps(data, sort_keys=True).encode())

    def forget(self, app: str) -> None:
        data = self.all()
        if data.pop(app, None) is not None:
            write_private(self.path, json.dumps(data, sort_keys=True).encode())
