"""IV Backing services: database, cache and broker URLs or hosts written in code."""

from __future__ import annotations

import ast
import os
import re
from urllib.parse import urlsplit

from tree_sitter import Node

from twelve.audit.jsindex import string_value, text
from twelve.audit.pyindex import PyIndex, settings_class_lines, str_value
from twelve.audit.scan import Scan, per_file

BACKING = "config.hardcoded-backing-service"
SERVICE_URL = re.compile(
    r"^(postgres(?:ql)?|mysql|mariadb|redis|rediss|amqps?|mongodb(?:\+srv)?|memcached?|nats|kafka|"
    r"elasticsearch|cockroachdb)(?:\+[a-z0-9]+)?://",
    re.IGNORECASE,
)
# A DNS name, an IPv4 address or a bare service name such as "db" or "redis".
HOST_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1", "0.0.0.0", "*", "[::]", "::"})


def _service_url(value: str) -> tuple[str, str | None] | None:
    """The scheme and any embedded password of a backing-service URL with a host."""
    match = SERVICE_URL.match(value.strip())
    if not match:
        return None
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not host or not HOST_NAME.match(host):
        return None
    return match.group(1).lower(), parts.password


# Modules that take the database from the environment somewhere make their literals defaults.
_DB_FROM_ENV = re.compile(r"dj_database_url|env\.db\(|from_prefixed_env|db_url\(")
_DEV_STEMS = frozenset({"dev", "development", "local", "test", "tests", "testing", "debug", "ci"})


def _django_databases(scan: Scan, path: str, assigns: list[ast.Assign]) -> None:
    """``DATABASES`` with a literal ``HOST`` (local ones too) or a SQLite ``ENGINE``."""
    for node in assigns:
        if not isinstance(node.value, ast.Dict):
            continue
        for database in node.value.values:
            if not isinstance(database, ast.Dict):
                continue
            for key, value in zip(database.keys, database.values, strict=True):
                name, literal = str_value(key) if key else None, str_value(value)
                if name == "HOST" and literal:
                    scan.report(
                        BACKING,
                        path,
                        value.lineno,
                        f"the database host {literal!r} is written in code",
                    )
                elif name == "ENGINE" and literal and literal.endswith("sqlite3"):
                    scan.report(
                        BACKING, path, value.lineno, "the database is a SQLite file fixed in code"
                    )


@per_file
def backing_service(scan: Scan) -> None:
    """Database, cache and broker URLs (and ``HOST`` settings) written in code; env fallbacks are fine."""
    for file, index in scan.python_files():
        stem = os.path.splitext(os.path.basename(file.path))[0].lower()
        if stem in _DEV_STEMS:
            continue
        text = file.text or ""
        # Whole-tree walks only where the text says they can find something.
        from_env = _lookup_defaults(index)
        if "Settings" in text:
            from_env |= settings_class_lines(index)
        assigns = _databases_assigns(index.tree) if "DATABASES" in text else []
        # DATABASES set in several branches means the literal one is a default for some of them.
        database_from_env = bool(_DB_FROM_ENV.search(text)) or len(assigns) > 1
        if assigns and not database_from_env:
            _django_databases(scan, file.path, assigns)
        defaults: set[int] | None = None
        for lit in index.strings:
            found = _service_url(lit.value)
            if found and lit.node_id not in index.fallback_ids and lit.line not in from_env:
                if defaults is None:
                    defaults = _rebound_literals(index)
                if lit.node_id in defaults:
                    continue
                scan.report(
                    BACKING,
                    file.path,
                    lit.line,
                    f"a {found[0]} URL is written in code",
                    secret=found[1],
                )
        for binding in index.bindings:
            value = str_value(binding.value)
            if binding.name not in {"HOST", "host"} or value is None or value in LOCAL_HOSTS:
                continue
            if binding.line in from_env or (
                (database_from_env or _in_databases(assigns, binding.line))
                and binding.name == "HOST"
            ):
                continue
            if not HOST_NAME.match(value.lower()):
                continue
            if id(binding.value) not in index.fallback_ids and (
                "." in value or binding.name == "HOST"
            ):
                scan.report(
                    BACKING,
                    file.path,
                    binding.line,
                    f"the service host {value!r} is written in code",
                )
    for file, js in scan.js_files():
        compared = {child.id for node in js.compares for child in node.children}
        for jnode in js.strings:
            value = string_value(jnode)
            found = _service_url(value) if value else None
            if found and jnode.id not in js.fallback_ids | compared and not _documentation(jnode):
                scan.report(
                    BACKING,
                    file.path,
                    jnode.start_point[0] + 1,
                    f"a {found[0]} URL is written in code",
                    secret=found[1],
                )


def _rebound_literals(index: PyIndex) -> set[int]:
    """Literals a function assigns to a name it also assigns from something else (``input()``, a
    parameter, an environment read): a working variable's default, not the app's setting.

    Settings declared at module or class level stay reported: those are the configuration itself.
    """
    functions = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in index.definitions
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    computed = {
        b.name
        for b in index.bindings
        if b.kind == "assign" and not isinstance(b.value, ast.Constant)
    }
    return {
        id(b.value)
        for b in index.bindings
        if b.kind == "assign"
        and isinstance(b.value, ast.Constant)
        and b.name in computed
        and any(start <= b.line <= end for start, end in functions)
    }


def _lookup_defaults(index: PyIndex) -> set[int]:
    """Lines of ``x.get("key", "default")`` defaults: a config lookup's fallback, not a fixed value."""
    return {
        call.node.args[1].lineno
        for call in index.calls
        if call.callee.endswith(".get") and len(call.node.args) > 1
    }


def _databases_assigns(tree: ast.Module) -> list[ast.Assign]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "DATABASES" for t in node.targets)
    ]


def _in_databases(assigns: list[ast.Assign], line: int) -> bool:
    """Whether ``line`` is inside a ``DATABASES = {...}`` literal (reported by its own check)."""
    return any(node.lineno <= line <= (node.end_lineno or node.lineno) for node in assigns)


def _documentation(node: Node) -> bool:
    """The value of an ``example:``/``default:``-style key of a schema (envalid, joi, swagger)."""
    parent = node.parent
    key = (
        parent.child_by_field_name("key") if parent is not None and parent.type == "pair" else None
    )
    return key is not None and text(key).strip("\"'") in {"example", "examples", "desc", "docs"}


CHECKS = (backing_service,)
