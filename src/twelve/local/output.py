"""How ``twelve local`` prints a line: ``12:00:01 web.1    | text``, coloured on a terminal. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import click

# One colour per process, in the order they are listed; the platform's own lines are bold.
COLOURS = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow", "red")
SYSTEM = "twelve[local]"


@dataclass(frozen=True)
class LineFormat:
    """The prefix of every line: time, name padded to ``width``, a bar; or nothing at all."""

    width: int
    prefix: bool = True
    timestamp: bool = True
    colour: bool = False

    def render(self, name: str, text: str, index: int, now: datetime) -> str:
        """One line of process ``name`` (the ``index``-th process, for its colour)."""
        if not self.prefix:
            return text
        label = f"{name:<{self.width}} |"
        if self.timestamp:
            label = f"{now:%H:%M:%S} {label}"
        if self.colour:
            if name == SYSTEM:
                label = click.style(label, bold=True)
            else:
                label = click.style(label, fg=COLOURS[index % len(COLOURS)])
        return f"{label} {text}"


def line_format(names: list[str], *, prefix: bool, timestamp: bool, colour: bool) -> LineFormat:
    """The format for a run of ``names``: every prefix padded to the longest name."""
    return LineFormat(max(len(n) for n in [*names, SYSTEM]), prefix, timestamp, colour)
