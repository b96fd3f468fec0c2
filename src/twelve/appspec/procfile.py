"""Procfile parsing, with the line number in every error."""

from __future__ import annotations

import re
from dataclasses import dataclass

from twelve.errors import SpecError

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.*)$")


@dataclass(frozen=True)
class Procfile:
    """Process types in the order the file declares them, each with its shell command."""

    processes: dict[str, str]

    @property
    def types(self) -> list[str]:
        return list(self.processes)

    def command(self, process_type: str) -> str | None:
        return self.processes.get(process_type)

    def to_text(self) -> str:
        return "".join(f"{name}: {cmd}\n" for name, cmd in self.processes.items())


def parse_procfile(text: str, filename: str = "Procfile") -> Procfile:
    """Parse Procfile text. Blank lines and ``#`` comments are skipped, as Foreman does.

    Raises SpecError naming ``filename:line`` for a malformed line, an empty command or a type
    declared twice.
    """
    processes: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()  # also drops a \r of CRLF files
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if "\x00" in line:  # no command line can hold one
            raise SpecError(f"{filename}:{number}: holds a NUL character")
        if not match:
            raise SpecError(
                f"{filename}:{number}: expected 'type: command', got {raw.strip()[:60]!r}",
                "process types use letters, digits, '_' and '-'",
            )
        name, command = match.group(1), match.group(2).strip()
        if not command:
            raise SpecError(f"{filename}:{number}: process type {name!r} has no command")
        if name in processes:
            raise SpecError(f"{filename}:{number}: process type {name!r} is declared twice")
        processes[name] = command
    return Procfile(processes)
