"""III Config: debug switched on in code, config read from files, named environments."""

from __future__ import annotations

import ast
import json
import os
import re

from twelve.audit.jsindex import env_key, object_keys, string_value
from twelve.audit.pyindex import PyIndex, dotted, env_read, str_value
from twelve.audit.roles import role
from twelve.audit.scan import Scan, per_file
from twelve.audit.secretish import words
from twelve.audit.snapshot import SourceFile

DEBUG = "config.debug-hardcoded"
CONFIG_FILE = "config.requires-config-file"
NAMED_ENVS = "config.named-environments"

CUSTOM_ENVS = frozenset(
    {"staging", "stage", "qa", "uat", "preprod", "pre-prod", "sandbox", "preview", "demo"}
)
ENV_NAMES = CUSTOM_ENVS | {"development", "dev", "production", "prod", "test", "testing", "local"}
_ENV_VARS = frozenset(
    {"ENV", "ENVIRONMENT", "APP_ENV", "NODE_ENV", "FLASK_ENV", "DJANGO_ENV", "RAILS_ENV", "STAGE"}
)
_CONFIG_EXT = (".json", ".yml", ".yaml", ".ini", ".toml", ".cfg", ".conf")
_CONFIG_WORDS = frozenset({"config", "settings", "secrets", "credentials", "conf", "configuration"})
_DEV_MODULES = frozenset({"dev", "development", "local", "test", "tests", "testing", "debug", "ci"})
_PROD_MODULES = (
    "production",
    "prod",
    "live",
    "deploy",
    "heroku",
    "settings_prod",
    "settings_production",
)


def _binds_debug(index: PyIndex) -> bool:
    return any(b.name == "DEBUG" and b.module_level for b in index.bindings)


def _imports_star_from(index: PyIndex, module: str) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == module
        for node in index.tree.body
    )


@per_file
def debug_hardcoded(scan: Scan) -> None:
    """``DEBUG = True`` in a module production runs; a dev settings module, or one a production
    module overrides, is fine. ``app.run(debug=True)`` under ``__main__`` is a dev server."""
    for file, index in scan.python_files():
        stem = os.path.splitext(os.path.basename(file.path))[0]
        if stem in _DEV_MODULES or stem.endswith(("_dev", "_local", "_test")):
            continue
        for binding in index.bindings:
            # DEBUG as a setting, or debug as an attribute (app.debug); not any dict's "debug" key.
            is_setting = binding.name == "DEBUG" and binding.kind != "kwarg"
            if not is_setting and not (
                binding.name == "debug" and binding.target.endswith(".debug")
            ):
                continue
            if not (isinstance(binding.value, ast.Constant) and binding.value.value is True):
                continue
            if (
                binding.kind == "assign"
                and binding.name == "DEBUG"
                and _overridden(scan, file, stem)
            ):
                continue
            scan.report(
                DEBUG,
                file.path,
                binding.line,
                f"{binding.target or binding.name} is set to True in code",
            )
        for call in index.calls:
            value = next((k.value for k in call.node.keywords if k.arg == "debug"), None)
            server = call.callee.endswith(".run") or call.callee in {"run", "uvicorn.run"}
            if (
                isinstance(value, ast.Constant)
                and value.value is True
                and not call.in_main
                and server
            ):
                scan.report(
                    DEBUG,
                    file.path,
                    call.node.lineno,
                    f"{call.callee}(debug=True) outside a __main__ block",
                )


def _overridden(scan: Scan, file: SourceFile, stem: str) -> bool:
    """Whether a sibling production settings module sets DEBUG itself."""
    folder = os.path.dirname(file.path)
    for name in _PROD_MODULES:
        sibling = f"{folder}/{name}.py" if folder else f"{name}.py"
        source = scan.snapshot.files.get(sibling)
        if source is None or source.text is None:
            continue
        index = scan.py(source)
        if index is not None and _binds_debug(index):
            return True
        if index is not None and _imports_star_from(index, stem):
            return False
    return False


def _config_path(value: str) -> bool:
    lowered = value.lower()
    if not lowered.endswith(_CONFIG_EXT) or "://" in lowered:
        return False
    parts = set(words(lowered.rsplit(".", 1)[0]))
    return bool(parts & (_CONFIG_WORDS | ENV_NAMES))


_PY_READERS = (
    "open",
    "read",
    "load",
    "from_file",
    "from_pyfile",
    "from_json",
    "read_file",
    "safe_load",
)


_BUILD_TOOLS = re.compile(
    r"^(webpack|vite|rollup|babel|jest|gulpfile|gruntfile|craco|next)[\w.-]*\.[cm]?[jt]s$", re.I
)


@per_file
def config_file(scan: Scan) -> None:
    """Config read from a file in the repository (``open("config.json")``, ``require("config")``)."""
    for file, index in scan.python_files():
        for call in index.calls:
            if not call.callee.split(".")[-1].startswith(_PY_READERS) or call.in_main:
                continue
            path = str_value(call.node.args[0]) if call.node.args else None
            if path and _config_path(path):
                scan.report(
                    CONFIG_FILE,
                    file.path,
                    call.node.lineno,
                    f"config is read from the file {path!r}",
                )
    for file, js in scan.js_files():
        for jc in js.calls:
            path = string_value(jc.args[0]) if jc.args else None
            if not path:
                continue
            if _BUILD_TOOLS.match(os.path.basename(file.path)):
                continue  # a bundler reads config at build time, not the running app
            reads = jc.callee in {
                "require",
                "fs.readFileSync",
                "readFileSync",
                "import",
            } or jc.callee.endswith(".readFile")
            if reads and (path == "config" or _config_path(path)):
                scan.report(CONFIG_FILE, file.path, jc.line, f"config is read from {path!r}")


def _env_name_side(node: ast.expr) -> bool:
    read = env_read(node)
    if read is not None:
        return read.key in _ENV_VARS
    name = dotted(node).split(".")[-1]
    return name in _ENV_VARS or name in {"env", "environment", "app_env", "ENV_NAME"}


@per_file
def named_environments(scan: Scan) -> None:
    """Branching on a custom environment's name, or config grouped under environment names."""
    for file, index in scan.python_files():
        for compare in index.compares:
            sides = [compare.left, *compare.comparators]
            names = [v for v in (str_value(s) for s in sides) if v]
            if any(n.lower() in CUSTOM_ENVS for n in names) and any(
                _env_name_side(s) for s in sides
            ):
                scan.report(
                    NAMED_ENVS, file.path, compare.lineno, "config branches on a named environment"
                )
        for node in index.dicts:
            keys = {str_value(k) for k in node.keys if k is not None}
            grouped = [k for k in keys if k and k.lower() in ENV_NAMES]
            if len(grouped) >= 2 and all(isinstance(v, ast.Dict | ast.Call) for v in node.values):
                scan.report(
                    NAMED_ENVS,
                    file.path,
                    node.lineno,
                    f"config is grouped by environment: {', '.join(sorted(grouped))}",
                )
    for file, js in scan.js_files():
        for cmp in js.compares:
            left, right = cmp.child_by_field_name("left"), cmp.child_by_field_name("right")
            for env_side, literal in ((left, right), (right, left)):
                value = string_value(literal)
                if env_key(env_side) in _ENV_VARS and value and value.lower() in CUSTOM_ENVS:
                    scan.report(
                        NAMED_ENVS,
                        file.path,
                        cmp.start_point[0] + 1,
                        "config branches on a named environment",
                    )
        for obj in js.objects:
            members = object_keys(obj)
            grouped = [
                k for k, v in members.items() if k.lower() in ENV_NAMES and v.type == "object"
            ]
            if len(grouped) >= 2:
                scan.report(
                    NAMED_ENVS,
                    file.path,
                    obj.start_point[0] + 1,
                    f"config is grouped by environment: {', '.join(sorted(grouped))}",
                )
    for path, line, message in _pm2_env_blocks(scan):
        scan.report(NAMED_ENVS, path, line, message)


def named_environment_files(scan: Scan) -> None:
    """``config/staging.yml``-style files, and JSON config keyed by environment names."""
    for path, line, message in _env_files_and_blocks(scan):
        scan.report(NAMED_ENVS, path, line, message)


def _pm2_env_blocks(scan: Scan) -> list[tuple[str, int, str]]:
    """pm2 ``env_production: {...}`` blocks: the app's config switched by environment name."""
    found = []
    for file, js in scan.js_files():
        for binding in js.bindings:
            name = binding.name.lower()
            if name.startswith("env_") and name[4:] in ENV_NAMES and binding.value.type == "object":
                line = binding.value.start_point[0] + 1
                found.append(
                    (file.path, line, f"{binding.name} holds config for a named environment")
                )
    return found


def _env_files_and_blocks(scan: Scan) -> list[tuple[str, int, str]]:
    """``config/staging.yml``-style files, and JSON config keyed by environment names."""
    found = []
    by_folder: dict[str, list[tuple[str, str]]] = {}
    for path, source in scan.snapshot.files.items():
        folder, name = os.path.split(path)
        stem, ext = os.path.splitext(name)
        if role(path) != "runtime" or os.path.basename(folder) not in {"config", "settings"}:
            continue
        if stem in ENV_NAMES and ext in {*_CONFIG_EXT, ".js", ".py"}:
            by_folder.setdefault(folder, []).append((path, stem))
        if ext == ".json" and source.text:
            found += _json_grouped(path, source.text)
    for entries in by_folder.values():
        # production.yml beside development.yml is config per environment; alone it is just config.
        named = {stem for _, stem in entries}
        for path, stem in entries:
            if stem in CUSTOM_ENVS or (stem in {"production", "prod"} and len(named) > 1):
                found.append((path, 0, f"{path} is config for a named environment ({stem})"))
    return found


def _json_grouped(path: str, text: str) -> list[tuple[str, int, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    if not isinstance(data, dict):
        return []
    grouped = [k for k, v in data.items() if k.lower() in ENV_NAMES and isinstance(v, dict)]
    if len(grouped) < 2:
        return []
    line = next((n for n, raw in enumerate(text.splitlines(), 1) if f'"{grouped[0]}"' in raw), 1)
    return [(path, line, f"config is grouped by environment: {', '.join(sorted(grouped))}")]


CHECKS = (debug_hardcoded, config_file, named_environments, named_environment_files)
