"""III Config: secrets in code, secret fallbacks and committed ``.env`` files."""

from __future__ import annotations

import os
import re

from twelve.appspec.dotenv import parse_dotenv
from twelve.audit.findings import Severity
from twelve.audit.jsindex import string_value
from twelve.audit.pyindex import str_value
from twelve.audit.scan import Scan
from twelve.audit.secretish import is_placeholder, is_secret_name, known_token, plausible_secret
from twelve.errors import SpecError

SECRET = "config.hardcoded-secret"  # noqa: S105 (a rule id)
FALLBACK = "config.secret-default-fallback"
DOTENV = "config.committed-dotenv"
_JWT_CALLS = frozenset({"jwt.sign", "jwt.verify", "jwt.encode", "jwt.decode", "jsonwebtoken.sign"})


def _secret_severity(value: str) -> Severity | None:
    return Severity.LOW if is_placeholder(value) else None


def hardcoded_secret(scan: Scan) -> None:
    """A literal bound to a secret-like name, a literal JWT key, or a well-known token shape."""
    for file in scan.files("python"):
        index = scan.py(file)
        if index is None:
            continue
        seen: set[int] = set()
        for binding in index.bindings:
            value = str_value(binding.value)
            if value is None or id(binding.value) in index.fallback_ids:
                continue
            if is_secret_name(binding.name) and plausible_secret(value):
                seen.add(binding.line)
                scan.report(
                    SECRET,
                    file.path,
                    binding.line,
                    f"{binding.name} is a literal secret",
                    severity=_secret_severity(value),
                    secret=value,
                )
        for call in index.calls:
            if call.callee in _JWT_CALLS and len(call.node.args) > 1:
                value = str_value(call.node.args[1])
                if value and call.node.lineno not in seen:
                    seen.add(call.node.lineno)
                    scan.report(
                        SECRET,
                        file.path,
                        call.node.lineno,
                        f"{call.callee} is given a literal signing key",
                        severity=_secret_severity(value),
                        secret=value,
                    )
        for lit in index.strings:
            label = known_token(lit.value)
            if label and lit.line not in seen:
                seen.add(lit.line)
                scan.report(
                    SECRET, file.path, lit.line, f"{label} is written in code", secret=lit.value
                )
    for file in scan.files("js"):
        js = scan.js(file)
        if js is None:
            continue
        seen = set()
        for jb in js.bindings:
            value = string_value(jb.value)
            if value is None or jb.value.id in js.fallback_ids:
                continue
            line = jb.value.start_point[0] + 1
            if is_secret_name(jb.name) and plausible_secret(value):
                seen.add(line)
                scan.report(
                    SECRET,
                    file.path,
                    line,
                    f"{jb.name} is a literal secret",
                    severity=_secret_severity(value),
                    secret=value,
                )
        for jc in js.calls:
            if jc.callee in _JWT_CALLS and len(jc.args) > 1:
                value = string_value(jc.args[1])
                if value and jc.line not in seen:
                    seen.add(jc.line)
                    scan.report(
                        SECRET,
                        file.path,
                        jc.line,
                        f"{jc.callee} is given a literal signing key",
                        severity=_secret_severity(value),
                        secret=value,
                    )
        for jnode in js.strings:
            value = string_value(jnode) or ""
            label = known_token(value)
            line = jnode.start_point[0] + 1
            if label and line not in seen:
                seen.add(line)
                scan.report(SECRET, file.path, line, f"{label} is written in code", secret=value)


def secret_default_fallback(scan: Scan) -> None:
    """An env read of a secret whose fallback is a literal (a random fallback is fine)."""
    for file in scan.files("python"):
        index = scan.py(file)
        if index is None:
            continue
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
    for file in scan.files("js"):
        js = scan.js(file)
        if js is None:
            continue
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


_NOT_SHARED = (".example", ".sample", ".template", ".dist", ".defaults", ".test", ".ci", ".schema")
_KEY_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


def committed_dotenv(scan: Scan) -> None:
    """A tracked ``.env`` (not ``.env.example``) giving secret-like keys real values."""
    for file in scan.named(".env", ".env.*"):
        name = os.path.basename(file.path)
        if not file.tracked or file.text is None or name.endswith(_NOT_SHARED):
            continue
        try:
            values = parse_dotenv(file.text, file.path)
        except SpecError as exc:
            scan.unparsed[file.path] = exc.message
            continue
        lines: dict[str, int] = {}
        for number, raw in enumerate(file.text.splitlines(), start=1):
            match = _KEY_LINE.match(raw)
            if match:
                lines.setdefault(match.group(1), number)
        for key, value in values.items():
            if not is_secret_name(key) or not value or value.startswith("$"):
                continue
            scan.report(
                DOTENV,
                file.path,
                lines.get(key, 1),
                f"{name} is tracked and gives {key} a value",
                severity=_secret_severity(value),
                secret=value,
            )


CHECKS = (hardcoded_secret, secret_default_fallback, committed_dotenv)
