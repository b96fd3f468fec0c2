"""Where production start commands live besides the Procfile: compose services, container entry
scripts, uWSGI and supervisord files (pure parsers over file text)."""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass

import yaml

from twelve.audit.formats import Command

_DEV_WORDS = re.compile(
    r"(^|[._-])(dev|develop|development|local|override|test|testing|e2e|debug|ci)([._-]|$)"
)


@dataclass(frozen=True)
class ComposeCommand:
    """A service's ``command:`` or ``entrypoint:`` as one shell line, with its line number."""

    service: str
    text: str
    line: int
    mounts_source: bool


def is_compose_file(path: str) -> bool:
    base = os.path.basename(path).lower()
    return base.endswith((".yml", ".yaml")) and (
        base.startswith(("docker-compose", "compose")) or base.endswith(".compose.yml")
    )


def is_dev_name(path: str) -> bool:
    """A file named for development, tests or local use (``compose.dev.yml``, ``entrypoint.dev.sh``)."""
    stem = os.path.basename(path).lower()
    return bool(_DEV_WORDS.search(stem))


def compose_commands(text: str) -> list[ComposeCommand]:
    """Each service's start command; a file YAML cannot read has none."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    services = _mapping_get(root, "services") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(services, yaml.MappingNode):
        return []
    found: list[ComposeCommand] = []
    for key, service in services.value:
        if not isinstance(service, yaml.MappingNode):
            continue
        mounts = _mounts_source(_mapping_get(service, "volumes"))
        for field in ("entrypoint", "command"):
            node = _mapping_get(service, field)
            line_text = _as_line(node)
            if node is not None and line_text:
                found.append(
                    ComposeCommand(str(key.value), line_text, node.start_mark.line + 1, mounts)
                )
    return found


def _mapping_get(node: yaml.Node | None, name: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == name), None)


def _as_line(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return " ".join(str(item.value) for item in node.value if isinstance(item, yaml.ScalarNode))
    return ""


def _mounts_source(volumes: yaml.Node | None) -> bool:
    """Whether the service bind-mounts the working tree (``.:/app``, ``./src:/app/src``): a dev setup."""
    if not isinstance(volumes, yaml.SequenceNode):
        return False
    for item in volumes.value:
        value = str(item.value) if isinstance(item, yaml.ScalarNode) else ""
        if value.startswith((".:", "./", "..")) and not value.startswith("./data"):
            return True
    return False


def ini_values(text: str, keys: frozenset[str]) -> list[tuple[str, str, int]]:
    """``(key, value, line)`` for the given keys in any section of an INI file; comments skipped."""
    found: list[tuple[str, str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", ";", "[")):
            continue
        key, sep, value = stripped.partition("=")
        if sep and key.strip().lower() in keys:
            found.append((key.strip().lower(), value.split(" #", 1)[0].strip(), number))
    return found


def supervisor_commands(text: str) -> list[Command]:
    """``command=`` lines of supervisord ``[program:x]`` sections."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    programs = {s for s in parser.sections() if s.startswith("program:")}
    if not programs:
        return []
    return [
        Command("command", value, line)
        for key, value, line in ini_values(text, frozenset({"command"}))
    ]


def shell_lines(text: str) -> list[Command]:
    """A shell script as commands, one per line, comment lines dropped."""
    return [
        Command("sh", raw, number)
        for number, raw in enumerate(text.splitlines(), start=1)
        if raw.strip() and not raw.lstrip().startswith("#")
    ]
