"""III Config: secrets in committed configuration files.

A tracked ``.env`` (``.env.docker``, ``config/config.env``) with real-looking secret values; secret
keys in ``nodemon.json`` env blocks and ``config/*.json``; well-known token shapes (AWS keys, Stripe
keys) in any YAML, JSON, INI or TOML file. Example and sample files, test env files, placeholders
and ``${VAR}`` references are fine; so is a Firebase client config, which is public by design.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from twelve.appspec.dotenv import parse_dotenv
from twelve.audit.findings import Severity
from twelve.audit.rules.secrets import SECRET
from twelve.audit.scan import Scan
from twelve.audit.secretish import (
    is_placeholder,
    is_secret_name,
    is_stand_in,
    known_token,
    plausible_secret,
)
from twelve.audit.snapshot import SourceFile
from twelve.errors import SpecError

DOTENV = "config.committed-dotenv"

_NOT_SHARED = re.compile(
    r"[._-](example|sample|template|dist|defaults|test|ci|schema)$", re.IGNORECASE
)
_KEY_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")
_CONFIG_TEXT = (".yml", ".yaml", ".json", ".ini", ".toml", ".cfg", ".conf", ".properties")
_PUBLIC_CONFIGS = frozenset({"google-services.json", "googleservice-info.plist", "firebase.json"})


def _env_files(scan: Scan) -> Iterator[SourceFile]:
    for file in scan.named(".env", ".env.*", "*.env"):
        name = os.path.basename(file.path)
        if name.endswith(".env") and name != ".env" and "config" not in file.path.lower():
            continue  # foo.env outside a config folder is rarely an env file
        if file.tracked and file.text is not None and not _NOT_SHARED.search(name):
            yield file


def _credentialed_url(value: str) -> bool:
    """A URL carrying a real password (not ``${VAR}``, not ``<user:password>``)."""
    if "://" not in value or "$" in value:
        return False
    try:
        password = urlsplit(value).password
    except ValueError:
        return False
    userinfo = value.split("://", 1)[1].rsplit("@", 1)[0]
    return bool(password) and not is_stand_in(userinfo)


def committed_dotenv(scan: Scan) -> None:
    """A tracked env file giving secret-like keys real values."""
    for file in _env_files(scan):
        name = os.path.basename(file.path)
        try:
            values = parse_dotenv(file.text or "", file.path)
        except SpecError as exc:
            scan.unparsed[file.path] = exc.message
            continue
        lines: dict[str, int] = {}
        for number, raw in enumerate((file.text or "").splitlines(), start=1):
            match = _KEY_LINE.match(raw)
            if match:
                lines.setdefault(match.group(1), number)
        for key, value in values.items():
            if not value or value.startswith("$"):
                continue
            secret = is_secret_name(key) and plausible_secret(value, setting=True)
            if not (secret and not is_stand_in(value)) and not _credentialed_url(value):
                continue
            scan.report(
                DOTENV,
                file.path,
                lines.get(key, 1),
                f"{name} is tracked and gives {key} a value",
                secret=value,
            )


def _json_config(path: str) -> bool:
    base = os.path.basename(path).lower()
    folder = os.path.basename(os.path.dirname(path)).lower()
    return base.endswith(".json") and (
        base == "nodemon.json"
        or folder == "config"
        or base.startswith(("config", "secrets", "credentials"))
    )


def _walk(data: Any) -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                yield str(key), value
            else:
                yield from _walk(value)
    elif isinstance(data, list):
        for item in data:
            yield from _walk(item)


def config_file_secrets(scan: Scan) -> None:
    """Secret keys in JSON config files, and token shapes in any config file."""
    for path, file in scan.snapshot.files.items():
        if file.text is None or not path.endswith(_CONFIG_TEXT) or scan.role(path) != "runtime":
            continue
        if os.path.basename(path).lower() in _PUBLIC_CONFIGS or _NOT_SHARED.search(
            os.path.splitext(path)[0]
        ):
            continue
        lines = file.text.splitlines()
        reported: set[int] = set()
        if _json_config(path):
            try:
                data = json.loads(file.text)
            except json.JSONDecodeError:
                data = None
            for key, value in _walk(data):
                if is_secret_name(key) and plausible_secret(value, setting=True):
                    line = _line_of(lines, key, value)
                    reported.add(line)
                    severity = Severity.LOW if is_placeholder(value) else None
                    scan.report(
                        SECRET,
                        path,
                        line,
                        f"{key} is a secret written in {os.path.basename(path)}",
                        severity=severity,
                        secret=value,
                    )
        for number, raw in enumerate(lines, start=1):
            label = known_token(raw)
            if label and number not in reported and not raw.lstrip().startswith("#"):
                scan.report(
                    SECRET,
                    path,
                    number,
                    f"{label} is written in {os.path.basename(path)}",
                    secret=raw.strip(),
                )


def _line_of(lines: list[str], key: str, value: str) -> int:
    quoted = json.dumps(value)
    for number, raw in enumerate(lines, start=1):
        if f'"{key}"' in raw and quoted in raw:
            return number
    return 0


CHECKS = (committed_dotenv, config_file_secrets)
