"""III Config: secrets in code and secret fallbacks."""

from __future__ import annotations

import ast
import os
import re

from tree_sitter import Node

from twelve.audit.findings import Severity
from twelve.audit.jsindex import object_keys, string_value, text
from twelve.audit.pyindex import (
    PyIndex,
    field_default,
    settings_class_lines,
    settings_fields,
    str_value,
)
from twelve.audit.scan import Scan, per_file
from twelve.audit.secretish import (
    is_placeholder,
    is_secret_name,
    known_token,
    names_itself,
    plausible_secret,
    words,
)

SECRET = "config.hardcoded-secret"  # noqa: S105 (a rule id)
FALLBACK = "config.secret-default-fallback"
_JWT_CALLS = frozenset({"jwt.sign", "jwt.verify", "jwt.encode", "jwt.decode", "jsonwebtoken.sign"})


# Seed scripts and fixtures create demo accounts whose passwords are meant to be known.
_DEMO_DATA = re.compile(r"seed|fixture|mock|faker", re.IGNORECASE)


_EXAMPLE_WORDS = frozenset({"test", "example", "sample", "demo", "fake"})


def _report_literal(scan: Scan, path: str, line: int, what: str, value: str) -> None:
    """A SECRET finding for the literal ``value`` at ``line``, as severe as ``value`` looks."""
    scan.report(SECRET, path, line, what, severity=_secret_severity(value), secret=value)


def _secret_binding(name: str, value: str) -> bool:
    return (
        is_secret_name(name)
        and not set(words(name)) & _EXAMPLE_WORDS
        and plausible_secret(value, setting=name.isupper())
        and not names_itself(name, value)
    )


# A password named only for an account (``password``, ``DEFAULT_USER_PASSWORD``, ``adminPwd``).
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase"})
_PERSON_WORDS = frozenset(
    {
        "user",
        "users",
        "admin",
        "account",
        "member",
        "customer",
        "person",
        "profile",
        "owner",
        "superuser",
        "staff",
        "student",
        "employee",
        "player",
        "author",
    }
)
_ACCOUNT_NAME_WORDS = _PASSWORD_WORDS | _PERSON_WORDS | {"default", "initial", "new", "confirm"}


def _account_password_name(name: str) -> bool:
    parts = set(words(name))
    return bool(parts & _PASSWORD_WORDS) and parts <= _ACCOUNT_NAME_WORDS


def _person(target: str) -> bool:
    """``user``, ``new_user``, ``self.admin``: an object that stands for a person."""
    parts = words(target.rsplit(".", maxsplit=1)[-1]) if target else []
    return bool(parts) and parts[-1] in _PERSON_WORDS


def _emailed(keys: list[str]) -> bool:
    """A record with an email field is a person's account, never a connection's credentials."""
    return any(parts and parts[-1] == "email" for parts in map(words, keys))


def _py_account_passwords(index: PyIndex) -> set[int]:
    """Values that are the password of a person's record: ``user.password = ...``,
    ``{"email": ..., "password": ...}``, ``User(email=..., password=...)``.

    Such records are the accounts a seed, fixture or setup command creates; the app never uses that
    password to reach anything, so it is not configuration.
    """
    found: set[int] = set()
    for binding in index.bindings:
        if binding.kind == "assign" and _account_password_name(binding.name):
            owner = binding.target.rsplit(".", 1)[0] if "." in binding.target else ""
            if _person(owner):
                found.add(id(binding.value))
    for mapping in index.dicts:
        keys = [k for k in (str_value(key) for key in mapping.keys) if k]
        if _emailed(keys):
            found.update(
                id(v)
                for k, v in zip(mapping.keys, mapping.values, strict=True)
                if _account_password_name(str_value(k) or "")
            )
    for call in index.calls:
        names = [kw.arg for kw in call.node.keywords if kw.arg]
        if _emailed(names):
            found.update(
                id(kw.value)
                for kw in call.node.keywords
                if kw.arg and _account_password_name(kw.arg)
            )
    return found


def _js_account_password(name: str, value: Node) -> bool:
    """The JavaScript forms of ``_py_account_passwords``: ``user.password = ...`` and
    ``{ email, password: ... }``."""
    if not _account_password_name(name):
        return False
    parent = value.parent
    if parent is not None and parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        owner = left.child_by_field_name("object") if left is not None else None
        return owner is not None and _person(text(owner))
    record = parent.parent if parent is not None and parent.type == "pair" else None
    return record is not None and record.type == "object" and _emailed(list(object_keys(record)))


def _secret_severity(value: str) -> Severity | None:
    return Severity.LOW if is_placeholder(value) else None


@per_file
def hardcoded_secret(scan: Scan) -> None:
    """A literal bound to a secret-like name, a literal JWT key, or a well-known token shape."""
    for file, index in scan.python_files():
        if _DEMO_DATA.search(os.path.basename(file.path)):
            continue
        seen: set[int] = set()
        # Fields of a settings class are defaults the environment overrides (see the fallback rule).
        from_env = settings_class_lines(index) if "Settings" in (file.text or "") else set()
        accounts: set[int] | None = None
        for binding in index.bindings:
            value = str_value(binding.value)
            if value is None or id(binding.value) in index.fallback_ids:
                continue
            if binding.line in from_env:
                continue
            if _secret_binding(binding.name, value):
                if accounts is None:
                    accounts = _py_account_passwords(index)
                if id(binding.value) in accounts:
                    continue
                seen.add(binding.line)
                _report_literal(
                    scan, file.path, binding.line, f"{binding.name} is a literal secret", value
                )
        for call in index.calls:
            if call.callee in _JWT_CALLS and len(call.node.args) > 1:
                value = str_value(call.node.args[1])
                if value and call.node.lineno not in seen:
                    seen.add(call.node.lineno)
                    _report_literal(
                        scan,
                        file.path,
                        call.node.lineno,
                        f"{call.callee} is given a literal signing key",
                        value,
                    )
        for lit in index.strings:
            label = known_token(lit.value)
            if label and lit.line not in seen:
                seen.add(lit.line)
                scan.report(
                    SECRET, file.path, lit.line, f"{label} is written in code", secret=lit.value
                )
    for file, js in scan.js_files():
        if _DEMO_DATA.search(os.path.basename(file.path)):
            continue
        seen = set()
        for jb in js.bindings:
            value = string_value(jb.value)
            if value is None or jb.value.id in js.fallback_ids:
                continue
            line = jb.value.start_point[0] + 1
            if _secret_binding(jb.name, value) and not _js_account_password(jb.name, jb.value):
                seen.add(line)
                _report_literal(scan, file.path, line, f"{jb.name} is a literal secret", value)
        for jc in js.calls:
            if jc.callee in _JWT_CALLS and len(jc.args) > 1:
                value = string_value(jc.args[1])
                if value and jc.line not in seen:
                    seen.add(jc.line)
                    _report_literal(
                        scan,
                        file.path,
                        jc.line,
                        f"{jc.callee} is given a literal signing key",
                        value,
                    )
        for jnode in js.strings:
            value = string_value(jnode) or ""
            label = known_token(value)
            line = jnode.start_point[0] + 1
            if label and line not in seen:
                seen.add(line)
                scan.report(SECRET, file.path, line, f"{label} is written in code", secret=value)


@per_file
def secret_default_fallback(scan: Scan) -> None:
    """An env read of a secret whose fallback is a literal (a random fallback is fine)."""
    for file, index in scan.python_files():
        for read in index.env_reads:
            value = str_value(read.default)
            if read.key and value and is_secret_name(read.key):
                scan.report(
                    FALLBACK,
                    file.path,
                    read.line,
                    f"{read.key} falls back to a literal secret when the variable is missing",
                    secret=value,
                )
        if "Settings" in (file.text or ""):
            _settings_defaults(scan, file.path, index)
    for file, js in scan.js_files():
        for jread in js.env_reads:
            value = string_value(jread.default)
            if value and is_secret_name(jread.key):
                scan.report(
                    FALLBACK,
                    file.path,
                    jread.line,
                    f"{jread.key} falls back to a literal secret when the variable is missing",
                    secret=value,
                )


def _settings_defaults(scan: Scan, path: str, index: PyIndex) -> None:
    """A settings-class field named for a secret with a literal default: the same fallback."""
    for field in settings_fields(index):
        target = field.target if isinstance(field, ast.AnnAssign) else field.targets[0]
        name = target.id if isinstance(target, ast.Name) else ""
        value = str_value(field_default(field.value)) if field.value is not None else None
        if value and is_secret_name(name) and plausible_secret(value, setting=True):
            scan.report(
                FALLBACK,
                path,
                field.lineno,
                f"{name} defaults to a literal secret when the variable is missing",
                secret=value,
            )


CHECKS = (hardcoded_secret, secret_default_fallback)
