"""Which releases use which runtime: the live one and the rollback targets among the last 10."""

from __future__ import annotations

from collections import defaultdict

from twelve.store import Store

ROLLBACK_WINDOW = 10


def runtime_users(store: Store) -> dict[str, list[str]]:
    """``python@3.12.7`` → ``["web-app v4 (live)", "web-app v3"]``."""
    users: defaultdict[str, list[str]] = defaultdict(list)
    for app in store.apps.all():
        for index, release in enumerate(store.releases.of_app(app.name)[:ROLLBACK_WINDOW]):
            if release.build_id is None:
                continue
            build = store.builds.get(release.build_id)
            for key in build.runtime.get("runtimes", []):
                users[str(key)].append(
                    f"{app.name} {release.label}{' (live)' if index == 0 else ''}"
                )
    return dict(users)
