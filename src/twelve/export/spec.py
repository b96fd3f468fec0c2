"""What an export is made from: one release, as the API's export document describes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twelve.errors import UsageError


@dataclass(frozen=True)
class BuildStep:
    description: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    with_app_config: bool = False


@dataclass(frozen=True)
class ReleaseSpec:
    """One release of one app: the only input of every exporter."""

    app: str
    version: int
    commit: str | None
    config: dict[str, str]
    procfile: dict[str, str]
    formation: dict[str, int]
    domains: tuple[str, ...]
    builder: str
    python: str | None  # the interpreter the build used, e.g. "3.12.4"
    node: str | None  # the node the build used, e.g. "20.20.2", where the builder records it
    steps: tuple[BuildStep, ...]
    healthcheck_path: str | None
    stop_timeout: float
    boot_timeout: float
    platform_domain: str
    postdeploy: str | None = None
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"v{self.version}"

    @property
    def process_types(self) -> list[str]:
        return [kind for kind in self.procfile if kind != "release"]


def release_from_document(doc: dict[str, Any]) -> ReleaseSpec:
    """Build the spec from ``GET /apps/{app}/export``; a malformed document is a UsageError."""
    try:
        release = doc["release"]
        runtime = doc["build"].get("runtime") or {}
        steps = tuple(
            BuildStep(
                str(s["description"]),
                tuple(str(a) for a in s["argv"]),
                tuple((str(k), str(v)) for k, v in (s.get("env") or {}).items()),
                bool(s.get("with_app_config")),
            )
            for s in runtime.get("steps", [])
            if isinstance(s, dict)
        )
        settings = doc["settings"]
        return ReleaseSpec(
            app=str(doc["app"]),
            version=int(release["version"]),
            commit=_optional_str(release.get("commit")),
            config={str(k): str(v) for k, v in release["config"].items()},
            procfile={str(k): str(v) for k, v in release["procfile"].items()},
            formation={str(k): int(v) for k, v in doc.get("formation", {}).items()},
            domains=tuple(str(d) for d in doc.get("domains", [])),
            builder=str(doc["build"].get("builder") or "generic"),
            python=_optional_str(runtime.get("python")),
            node=_optional_str(runtime.get("node")),
            steps=steps,
            healthcheck_path=_optional_str(doc.get("healthcheck_path")),
            stop_timeout=float(settings["stop_timeout"]),
            boot_timeout=float(settings["boot_timeout"]),
            platform_domain=str(settings.get("domain", "localhost")),
            postdeploy=_optional_str(doc.get("postdeploy")),
            limits={str(k): dict(v) for k, v in (doc.get("limits") or {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"the server's export document is incomplete ({type(exc).__name__}: {exc})",
            "upgrade the twelve server to the CLI's version",
        ) from None


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
