"""The environment a process receives: the contract of DESIGN.md, built as a pure value.

Nothing of the daemon's own environment leaks in: the base is built from scratch, so the API token
and every other TWELVE_* setting stay out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from twelve.dyno_defaults import buildpack_defaults
from twelve.values import NO_LIMITS, Limits

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# Names the platform sets itself; app config cannot override these.
PLATFORM_KEYS = ("PORT", "DYNO", "TWELVE_APP", "TWELVE_RELEASE", "SOURCE_VERSION")


def process_environment(
    *,
    app: str,
    dyno: str,
    release: int,
    config: Mapping[str, str],
    home: str,
    venv: str | None,
    commit: str | None,
    port: int | None,
    extra_path: tuple[str, ...] = (),
) -> dict[str, str]:
    """The full environment of one app process."""
    path_parts = [*extra_path]
    if venv:
        path_parts.append(f"{venv}/bin")
    path_parts.append(SYSTEM_PATH)
    env: dict[str, str] = {
        "PATH": ":".join(path_parts),
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    if venv:
        env["VIRTUAL_ENV"] = venv
    env.update(config)
    # Config may set PATH (Heroku allows it); the platform's own names always win.
    env.update(
        {
            "DYNO": dyno,
            "TWELVE_APP": app,
            "TWELVE_RELEASE": f"v{release}",
            "SOURCE_VERSION": commit or "",
        }
    )
    if port is not None:
        env["PORT"] = str(port)
    else:
        env.pop("PORT", None)
    return env


def build_environment(*, home: str, uv_cache: str, path: str) -> dict[str, str]:
    """The environment of build steps: clean, with the shared dependency cache."""
    return {
        "PATH": path,
        "HOME": home,
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": uv_cache,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NATIVE_TLS": "1",  # trust the machine's certificate store, as pip and git do
        "UV_NO_PROGRESS": "1",
        "PYTHONUNBUFFERED": "1",
        "CI": "true",
    }


def slug_environment(
    slug_dir: Path,
    workdir: Path,
    *,
    app: str,
    dyno: str,
    release: int,
    config: Mapping[str, str],
    commit: str | None,
    port: int | None,
    limits: Limits = NO_LIMITS,
) -> dict[str, str]:
    """``process_environment`` for a process of a slug: its virtualenv, runtime and Node binaries
    on PATH, and the defaults Heroku's buildpacks give such an app."""
    venv = slug_dir / "venv"
    node_bin = ("app", "node_modules", ".bin")
    extra: tuple[str, ...] = ()
    if slug_dir.joinpath(*node_bin).is_dir():
        extra += (str(workdir / "node_modules" / ".bin"),)
    if (slug_dir / "runtime" / "bin").is_dir():
        extra += (str(slug_dir / "runtime" / "bin"),)  # the node the build used (a runtime)
    defaults = buildpack_defaults(
        python=venv.is_dir(),
        node=(slug_dir / "app" / "package.json").is_file(),
        workdir=str(workdir),
        limits=limits,
        config=config,
    )
    return process_environment(
        app=app,
        dyno=dyno,
        release=release,
        config={**defaults, **config},
        home=str(workdir),
        venv=str(venv) if venv.is_dir() else None,
        commit=commit,
        port=port,
        extra_path=extra,
    )
