"""Small parsers for the non-code files rules read: Procfile, Dockerfile, shell lines, requirements."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from twelve.appspec.procfile import parse_procfile


@dataclass(frozen=True)
class Command:
    """A shell command with where it came from: a Procfile entry, a Dockerfile instruction, a script."""

    name: str
    text: str
    line: int


def procfile_entries(text: str, filename: str = "Procfile") -> list[Command]:
    """Procfile entries with their lines; raises SpecError like the platform does."""
    parsed = parse_procfile(text, filename)
    lines = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.split(":", 1)[0].strip()
        if name in parsed.processes and name not in lines:
            lines[name] = number
    return [
        Command(name, command, lines.get(name, 1)) for name, command in parsed.processes.items()
    ]


def dockerfile_instructions(text: str) -> list[Command]:
    """Instructions (``RUN``, ``CMD``, ...) with continuation lines joined, comments dropped."""
    found: list[Command] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(pending)
        pending = []
        keyword, _, rest = joined.partition(" ")
        found.append(Command(keyword.upper(), _exec_form(rest.strip()), start))
    return found


def _exec_form(rest: str) -> str:
    """``["gunicorn", "-b", ":8000"]`` as the shell line it means."""
    if rest.startswith("["):
        try:
            parts = shlex.split(rest.strip("[]").replace(",", " "))
        except ValueError:
            return rest
        return shlex.join(parts)
    return rest


_OPERATORS = frozenset({"&&", "||", ";", "|", "&", ";;"})
_WRAPPERS = frozenset({"exec", "env", "sudo", "time", "nice"})


def simple_commands(line: str) -> list[list[str]]:
    """Split a shell line on ``&&``, ``||``, ``;``, ``|`` and ``&`` into word lists, quotes respected.

    ``sh -c "a && b"`` is opened up into its own commands; ``VAR=value`` prefixes and wrappers such as
    ``exec`` are dropped. A line shlex cannot read falls back to splitting on whitespace.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        tokens = line.split()
    commands: list[list[str]] = []
    words: list[str] = []
    for token in [*tokens, ";"]:
        if token not in _OPERATORS and not set(token) <= set("&|;()<>"):
            words.append(token)
            continue
        while words and (
            ("=" in words[0] and not words[0].startswith("-")) or words[0] in _WRAPPERS
        ):
            words = words[1:]
        if len(words) >= 3 and words[0] in {"sh", "bash"} and words[1] == "-c":
            commands.extend(simple_commands(words[2]))
        elif words:
            commands.append(words)
        words = []
    return commands


_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


@dataclass(frozen=True)
class Requirement:
    name: str
    spec: str
    line: int


def requirements(text: str) -> list[Requirement]:
    """Named requirements of a requirements file; options, includes and URLs are skipped."""
    found: list[Requirement] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        body = raw.split(" #", 1)[0].strip()
        if not body or body.startswith(("#", "-", "git+", "http", "./", "/", ".")):
            continue
        match = _REQ_NAME.match(body)
        if match:
            found.append(Requirement(match.group(1), match.group(3).split(";")[0].strip(), number))
    return found


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str | None:
    """The distribution name at the start of a PEP 508 string."""
    match = _REQ_NAME.match(spec)
    return normalise(match.group(1)) if match else None
