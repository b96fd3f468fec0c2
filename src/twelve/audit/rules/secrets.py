"""III Config: secrets in code and secret fallbacks."""

from __future__ import annotations

import os
import re

from twelve.audit.findings import Severity
from twelve.audit.jsindex import string_value
from twelve.audit.pyindex import str_value
from twelve.audit.scan import Scan
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


def _secret_binding(name: str, value: str) -> bool:
    return (
        is_secret_name(name)
        and not set(words(name)) & _EXAMPLE_WORDS
        and plausible_secret(value, setting=name.isupper())
        and not names_itself(name, value)
    )


def _secret_severity(value: str) -> Severity | None:
    return Severity.LOW if is_placeholder(value) else None


def hardcoded_secret(scan: Scan) -> None:
    """A literal bound to a secret-like name, a literal JWT key, or a well-known token shape."""
    for file in scan.files("python"):
        index = scan.py(file)
        if index is None or _DEMO_DATA.search(os.path.basename(file.path)):
            continue
        seen: set[int] = set()
        for binding in index.bindings:
            value = str_value(binding.value)
            if value is None or id(binding.value) in index.fallback_ids:
                continue
            if _secret_binding(binding.name, value):
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
        if js is None or _DEMO_DATA.search(os.path.basename(file.path)):
            continue
        seen = set()
        for jb in js.bindings:
            value = string_value(jb.value)
            if value is None or jb.value.id in js.fallback_ids:
                continue
            line = jb.value.start_point[0] + 1
            if _secret_binding(jb.name, value):
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


CHECKS = (hardcoded_secret, secret_default_fallback)
