"""What a repository declares: Python and Node manifests read with their real parsers (TOML, JSON,
requirements files, ``setup.py`` through ``ast``, ``setup.cfg`` through configparser)."""

from __future__ import annotations

import ast
import configparser
import json
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from twelve.audit.formats import normalise, requirement_name, requirements
from twelve.audit.pyindex import str_value
from twelve.audit.roles import role
from twelve.audit.scan import Scan

PY_MANIFESTS = ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "requirements.txt")
NODE_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")


@dataclass
class Manifests:
    """What the repository declares, read from every manifest format it has."""

    python: set[str] = field(default_factory=set)
    node: set[str] = field(default_factory=set)
    python_files: list[str] = field(default_factory=list)
    has_package_json: bool = False
    node_ranges: dict[str, tuple[str, str]] = field(default_factory=dict)


def _toml(scan: Scan, path: str) -> dict[str, Any]:
    text = scan.text(path)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        scan.unparsed[path] = f"not valid TOML: {exc}"
        return {}


def _names(specs: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(specs, dict):
        return {normalise(k) for k in specs}
    for spec in specs if isinstance(specs, list) else []:
        if isinstance(spec, str) and (name := requirement_name(spec)):
            found.add(name)
    return found


def read_manifests(scan: Scan) -> Manifests:
    """Declared distributions from pyproject, requirements files, Pipfile, setup.py/cfg, package.json."""
    found = Manifests()
    for path, file in scan.snapshot.files.items():
        base = os.path.basename(path)
        if role(path) != "runtime" or file.text is None:
            continue
        if base.startswith("requirements") and base.endswith((".txt", ".in")):
            found.python_files.append(path)
            found.python |= {normalise(r.name) for r in requirements(file.text)}
    if scan.has("pyproject.toml"):
        data = _toml(scan, "pyproject.toml")
        project = data.get("project", {})
        found.python |= _names(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            found.python |= _names(extra)
        for group in data.get("dependency-groups", {}).values():
            found.python |= _names(group)
        poetry = data.get("tool", {}).get("poetry", {})
        found.python |= _names(poetry.get("dependencies", {})) | _names(
            poetry.get("dev-dependencies", {})
        )
        for group in poetry.get("group", {}).values():
            found.python |= _names(group.get("dependencies", {}))
        if project.get("name"):
            found.python.add(normalise(str(project["name"])))
    if scan.has("Pipfile"):
        pipfile = _toml(scan, "Pipfile")
        found.python |= _names(pipfile.get("packages", {})) | _names(
            pipfile.get("dev-packages", {})
        )
    if setup := scan.text("setup.py"):
        found.python |= _setup_py(setup)
    if cfg := scan.text("setup.cfg"):
        parser = configparser.ConfigParser()
        try:
            parser.read_string(cfg)
            found.python |= _names(
                parser.get("options", "install_requires", fallback="").split("\n")
            )
        except configparser.Error as exc:
            scan.unparsed["setup.cfg"] = str(exc)
    found.python_files += [p for p in PY_MANIFESTS if scan.has(p) and p != "requirements.txt"]
    if (text := scan.text("package.json")) is not None:
        found.has_package_json = True
        try:
            package = json.loads(text)
        except json.JSONDecodeError as exc:
            scan.unparsed["package.json"] = f"not valid JSON: {exc}"
            package = {}
        for section in (
            "dependencies",
            "devDependencies",
            "peerDependencies",
            "optionalDependencies",
        ):
            for name, spec in (package.get(section) or {}).items():
                found.node.add(name)
                found.node_ranges[name] = (section, str(spec))
    return found


def _setup_py(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "install_requires"
            and isinstance(node.value, ast.List)
        ):
            found |= _names([str_value(e) for e in node.value.elts])
    return found


def declares_dependencies(scan: Scan, manifest: str) -> bool:
    data = _toml(scan, manifest)
    if manifest == "Pipfile":
        return bool(data.get("packages"))
    return bool(
        data.get("project", {}).get("dependencies")
        or data.get("tool", {}).get("poetry", {}).get("dependencies")
    )


def package_jsons(scan: Scan) -> dict[str, set[str]]:
    """Directory -> packages its package.json declares (every section), for each package.json."""
    found: dict[str, set[str]] = {}
    for file in scan.named("package.json"):
        try:
            data = json.loads(file.text or "")
        except json.JSONDecodeError:
            continue
        names: set[str] = set()
        for section in NODE_SECTIONS:
            value = data.get(section) if isinstance(data, dict) else None
            names |= set(value) if isinstance(value, dict) else set()
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names.add(data["name"])
        found[os.path.dirname(file.path)] = names
    return found


def nearest(packages: dict[str, set[str]], path: str) -> set[str] | None:
    """What the package.json nearest above ``path`` declares; None when there is none."""
    folder = os.path.dirname(path)
    while True:
        if folder in packages:
            return packages[folder]
        if not folder:
            return None
        folder = os.path.dirname(folder)
