"""What a release is made of, decided apart from making it. Pure.

Where its code comes from, the process specs a release and a formation give, the health check of
its web processes, and the description each kind of release carries in ``releases``.
"""

from __future__ import annotations

from dataclasses import dataclass

from twelve.logs.drain_url import redact
from twelve.store import Build, Release
from twelve.supervisor.process import ProcessSpec
from twelve.values import NO_LIMITS, Limits


@dataclass(frozen=True)
class Source:
    """Where a deploy's code comes from: an uploaded tarball or a git URL."""

    tarball: bytes | None = None
    commit: str | None = None
    git_url: str | None = None
    ref: str | None = None

    def describe(self) -> str:
        if self.git_url:
            url = redact(self.git_url)  # credentials in a URL stay out of logs and releases
            return f"{url}@{self.ref}" if self.ref else url
        return "upload"


def process_specs(
    release: Release,
    formation: dict[str, int],
    health: str | None = None,
    limits: dict[str, Limits] | None = None,
) -> list[ProcessSpec]:
    """The processes a release runs with a formation, named ``type.N``. Pure."""
    if release.slug_dir is None:
        return []
    config = tuple(sorted(release.config.items()))
    return [
        ProcessSpec(
            app=release.app,
            name=f"{kind}.{n}",
            command=release.procfile[kind],
            release=release.version,
            slug_dir=release.slug_dir,
            config=config,
            commit=release.commit,
            health_path=health if kind == "web" else None,
            limits=(limits or {}).get(kind, NO_LIMITS),
        )
        for kind, count in formation.items()
        if kind in release.procfile
        for n in range(1, count + 1)
    ]


def health_path(build: Build, config: dict[str, str]) -> str | None:
    """The HTTP path that must answer before a web process gets traffic, if the app names one.

    ``TWELVE_HEALTHCHECK_PATH`` in the app's config wins over app.json's ``healthchecks``.
    """
    return config.get("TWELVE_HEALTHCHECK_PATH") or build.runtime.get("healthcheck_path") or None


def deploy_description(short_commit: str, check: str | None) -> str:
    """``Deploy abc1234``, with twelve check's count when it found anything."""
    text = f"Deploy {short_commit}".rstrip()
    if check and check not in {"no findings", "not checked"}:
        text += f" (check: {check})"
    return text


def config_description(changes: dict[str, str | None]) -> str:
    """``Set A, B`` / ``Unset C``: names only, never values."""
    parts = []
    set_keys = sorted(k for k, v in changes.items() if v is not None)
    unset_keys = sorted(k for k, v in changes.items() if v is None)
    if set_keys:
        parts.append("Set " + ", ".join(set_keys))
    if unset_keys:
        parts.append("Unset " + ", ".join(unset_keys))
    return "; ".join(parts)
