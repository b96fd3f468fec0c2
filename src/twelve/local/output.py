"""How ``twelve local`` prints a line: ``12:00:01 web.1    | text``, coloured on a terminal. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import click

COLOURS = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow")
SYSTEM = "twelve[local]"


@dataclass(frozen=True)
class LineFormat:
    width: int
    prefix: bool = True
    timestamp: bool = True
    colour: bool = False

    def render(self, name: str, text: str, index: int, now: datetime) -> str:
        if not self.prefix:
            return text
        label = f"{name:<{self.width}} |"
        if self.timestamp:
            label = f"{now:%H:%M:%S} {label}"
        if self.colour:
            label = click.style(
                label, fg="white" if name == SYSTEM else COLOURS[index % len(COLOURS)]
            )
        return f"{label} {text}"


def line_format(names: list[str], *, prefix: bool, timestamp: bool, colour: bool) -> LineFormat:
    return LineFormat(max(len(n) for n in [*names, SYSTEM]), prefix, timestamp, colour)
