"""II Dependencies: manifests, lockfiles, pins, undeclared imports and installs outside the manifest."""

from __future__ import annotations

import os
import sys
from functools import cache

from twelve.audit.formats import Command, normalise, requirement_name, requirements, simple_commands
from twelve.audit.importmap import DISTRIBUTIONS, NODE_BUILTINS, PROVIDED_BY
from twelve.audit.manifests import (
    declares_dependencies,
    nearest,
    package_jsons,
    read_manifests,
)
from twelve.audit.roles import language
from twelve.audit.scan import Scan, per_file

MISSING = "deps.missing-manifest"
LOCK = "deps.missing-lockfile"
UNPINNED = "deps.unpinned"
UNDECLARED = "deps.undeclared-import"
ADHOC = "deps.adhoc-install"

PY_LOCKS = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml")
NODE_LOCKS = (
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "npm-shrinkwrap.json",
    "bun.lockb",
    "bun.lock",
)
_TOOLS = frozenset(
    {
        "pip",
        "setuptools",
        "wheel",
        "uv",
        "poetry",
        "pipenv",
        "pip-tools",
        "npm",
        "yarn",
        "pnpm",
        "corepack",
    }
)


def missing_manifest_and_lock(scan: Scan) -> None:
    """Code without a manifest; a manifest without a lockfile; unpinned requirements."""
    manifests = read_manifests(scan)
    first_py = next((f.path for f in scan.files("python")), None)
    # Browser scripts need no package.json: Node code requires, imports or reads process.
    first_js = next((f.path for f in scan.files("js") if _node_code(f.text or "")), None)
    if first_py and not manifests.python_files:
        scan.report(
            MISSING,
            first_py,
            0,
            "Python code but no pyproject.toml, requirements.txt, Pipfile or setup.py",
        )
    if first_js and not manifests.has_package_json and not first_js.endswith((".ts", ".tsx")):
        scan.report(MISSING, first_js, 0, "JavaScript code but no package.json")
    py_locked = any(scan.has(p) for p in PY_LOCKS)
    if not py_locked:
        pinned_reqs = True
        for path in manifests.python_files:
            if os.path.basename(path).startswith("requirements") and path.endswith(".txt"):
                for req in requirements(scan.text(path) or ""):
                    if not req.spec.startswith(("==", "===", "@")):
                        pinned_reqs = False
                        scan.report(
                            UNPINNED,
                            path,
                            req.line,
                            f"{req.name} is not pinned and no lockfile pins it",
                        )
        for manifest in ("pyproject.toml", "Pipfile"):
            if (
                scan.has(manifest)
                and declares_dependencies(scan, manifest)
                and not (scan.has("requirements.txt") and pinned_reqs)
            ):
                scan.report(
                    LOCK,
                    manifest,
                    0,
                    f"{manifest} declares dependencies but no lockfile is committed",
                )
    if manifests.has_package_json:
        if manifests.node_ranges and not any(scan.has(p) for p in NODE_LOCKS):
            scan.report(
                LOCK,
                "package.json",
                0,
                "package.json declares dependencies but no lockfile is committed",
            )
        text = scan.text("package.json") or ""
        for name, (_, spec) in manifests.node_ranges.items():
            if spec.strip() in {"*", "latest", "", "x", "next"}:
                line = next(
                    (n for n, raw in enumerate(text.splitlines(), 1) if f'"{name}"' in raw), 0
                )
                scan.report(
                    UNPINNED,
                    "package.json",
                    line,
                    f"{name} asks for {spec.strip() or 'any version'!r}",
                )


def _node_code(text: str) -> bool:
    return any(marker in text for marker in ("require(", "process.", "import ", "module.exports"))


@cache
def _stdlib() -> frozenset[str]:
    return frozenset(sys.stdlib_module_names) | {"__future__", "__main__"}


def _local_modules(scan: Scan) -> set[str]:
    local: set[str] = set()
    for path in scan.snapshot.files:
        if language(path) != "python":
            continue
        parts = path.split("/")
        local.add(os.path.splitext(parts[-1])[0])
        local.update(parts[:-1])
    return local


@per_file
def undeclared_import(scan: Scan) -> None:
    """Imports of distributions the manifest does not declare (Python and Node)."""
    # Repository-wide facts, computed once however many batches of files this runs over.
    manifests = scan.once("manifests", lambda: read_manifests(scan))
    if manifests.python_files:
        local, stdlib = scan.once("local-modules", lambda: _local_modules(scan)), _stdlib()
        for file, index in scan.python_files():
            for name, line, optional in index.imports:
                if optional or name in stdlib or name in local:
                    continue
                dists = DISTRIBUTIONS.get(name, (normalise(name),))
                if any(d in manifests.python for d in dists):
                    continue
                if any(p in manifests.python for d in dists for p in PROVIDED_BY.get(d, ())):
                    continue
                scan.report(
                    UNDECLARED,
                    file.path,
                    line,
                    f"imports {name!r} but no manifest declares {dists[0]}",
                )
    packages = scan.once("package-jsons", lambda: package_jsons(scan))
    for file in scan.files("js"):
        declared = nearest(packages, file.path)
        js = scan.js(file) if declared is not None else None
        if js is None or declared is None:
            continue
        for spec, line in js.imports:
            if spec.startswith((".", "/", "node:", "~", "#", "@/")) or "://" in spec:
                continue
            parts = spec.split("/")
            package = "/".join(parts[:2]) if spec.startswith("@") else parts[0]
            if package in NODE_BUILTINS or package in declared or spec in js.optional:
                continue
            scan.report(
                UNDECLARED,
                file.path,
                line,
                f"imports {package!r} but package.json does not declare it",
            )


def _installs(words: list[str]) -> list[str]:
    """Packages a command installs by name (``pip install x``, ``npm install x``), if any."""
    if words[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
        words = ["pip", *words[3:]]
    if words[:2] == ["uv", "pip"]:
        words = ["pip", *words[2:]]
    if len(words) < 2:
        return []
    tool, verb = os.path.basename(words[0]), words[1]
    if (
        (tool in {"pip", "pip3"} and verb == "install")
        or (tool == "npm" and verb in {"install", "i", "add"})
        or (tool in {"yarn", "pnpm"} and verb == "add")
    ):
        names: list[str] = []
        skip = False
        for word in words[2:]:
            if skip:
                skip = False
                continue
            if word in {
                "-r",
                "--requirement",
                "-c",
                "--constraint",
                "-e",
                "--editable",
                "--prefix",
                "--target",
                "-t",
                "--index-url",
                "-i",
            }:
                skip = True
                continue
            if (
                word.startswith("-")
                or word.startswith((".", "/"))
                or word.endswith((".txt", ".whl", ".tar.gz"))
            ):
                continue
            name = requirement_name(word)
            if name and name not in _TOOLS:
                names.append(word)
        return names
    return []


def adhoc_install(scan: Scan) -> None:
    """``pip install NAME`` / ``npm install NAME`` in Dockerfiles, scripts and the Procfile."""
    sources: dict[str, list[Command]] = {
        p: [c for c in cmds if c.name == "RUN"] for p, cmds in scan.dockerfiles.items()
    }
    if scan.procfile:
        sources["Procfile"] = scan.procfile
    for file in scan.named("*.sh", "*.bash"):
        sources[file.path] = [
            Command("sh", raw, n) for n, raw in enumerate((file.text or "").splitlines(), 1)
        ]
    for path, commands in sources.items():
        for command in commands:
            for words in simple_commands(command.text):
                names = _installs(words)
                if names:
                    scan.report(
                        ADHOC,
                        path,
                        command.line,
                        f"installs {', '.join(names)} outside the manifest",
                    )


CHECKS = (missing_manifest_and_lock, undeclared_import, adhoc_install)
