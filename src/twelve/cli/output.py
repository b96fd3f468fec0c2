"""Everything the CLI prints goes through here: tables for people, JSON for scripts, errors."""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from twelve.errors import TwelveError

Answer = TypeVar("Answer")
Item = TypeVar("Item")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned table without borders (plain text in a pipe)."""
    console = Console(highlight=False, soft_wrap=True)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def emit_answer(data: Answer, as_json: bool, for_people: Callable[[Answer], object]) -> None:
    """What the API answered: as JSON for scripts with --json, else as ``for_people`` prints it."""
    if as_json:
        emit_json(data)
    else:
        for_people(data)


def emit_rows(
    items: Sequence[Item],
    as_json: bool,
    headers: Sequence[str],
    row: Callable[[Item], Sequence[Any]],
    empty: str | None = None,
) -> None:
    """A list the API answered: JSON for scripts, else a table with a row per item (or the
    line ``empty``, when given, for an empty list)."""
    if as_json:
        emit_json(items)
    elif not items and empty is not None:
        emit(empty)
    else:
        emit_table(headers, [row(item) for item in items])


def emit(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print one line of text for people."""
    click.echo(text, err=err, nl=nl)


def emit_raw(data: bytes) -> None:
    """Write bytes to stdout unchanged (streamed build output, log lines)."""
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def emit_error(error: TwelveError) -> None:
    """The one format of every CLI error: ``twelve: message (hint)`` on stderr."""
    line = f"twelve: {error.message}"
    if error.hint:
        line += f" ({error.hint})"
    click.echo(click.style(line, fg="red") if sys.stderr.isatty() else line, err=True)


def emit_unexpected(exc: BaseException) -> None:
    click.echo(
        f"twelve: unexpected error: {type(exc).__name__}: {exc} (run with --verbose for details)",
        err=True,
    )


_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta")


def emit_log_line(line: dict[str, str], *, as_json: bool, colour: bool) -> None:
    """One log line: as stored, as JSON, or with the process name coloured in a terminal."""
    if as_json:
        click.echo(json.dumps(line))
        return
    prefix = f"{line['source']}[{line['process']}]:"
    if colour:
        tint = _COLOURS[zlib.crc32(line["process"].encode()) % len(_COLOURS)]
        prefix = click.style(prefix, fg=tint)
    click.echo(f"{line['time']} {prefix} {line['message']}")
