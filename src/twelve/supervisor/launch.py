"""How a process is launched inside its limits and as its app's user: the argv, as a pure value.

The child places itself in its cgroups, sets its fallback rlimits, then drops to the app's user and
execs the Procfile command, all before the command runs, so nothing it forks escapes the limits.
The command is passed as an argument, never pasted into the script.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    """The unprivileged user an app's processes run as."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Confinement:
    """Everything that wraps one process: its user, its cgroups, an rlimit fallback."""

    identity: Identity | None = None
    cgroup_procs: tuple[Path, ...] = ()  # cgroup.procs files the process joins
    address_space_kib: int | None = None  # RLIMIT_AS when no cgroup can limit memory

    @property
    def empty(self) -> bool:
        return self.identity is None and not self.cgroup_procs and self.address_space_kib is None


def launch_argv(command: str, confinement: Confinement) -> list[str]:
    """``/bin/sh -c COMMAND``, wrapped in what ``confinement`` asks for."""
    if confinement.empty:
        return ["/bin/sh", "-c", command]
    steps = [f"echo $$ > {shlex.quote(str(path))}" for path in confinement.cgroup_procs]
    if confinement.address_space_kib is not None:
        steps.append(f"ulimit -v {confinement.address_space_kib}")
    final = 'exec /bin/sh -c "$0"'
    if confinement.identity is not None:
        who = confinement.identity
        final = (
            f"exec setpriv --reuid={who.uid} --regid={who.gid} --clear-groups"
            ' --inh-caps=-all -- /bin/sh -c "$0"'
        )
    steps.append(final)
    return ["/bin/sh", "-c", " && ".join(steps), command]


def user_name(app: str) -> str:
    """The system user of an app: ``tw-APP`` (app names are at most 30 characters: this fits 32)."""
    return f"tw-{app}"[:32]


_COMPOUND = set(";&|<>(){}\n`")
_RESERVED = {"if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do",
             "done", "!", "{", "}", "function", "select", "time", "[[", "]]", "exec"}  # fmt: skip


def exec_simple(command: str) -> str:
    """``command`` with ``exec`` before it when it is one simple command (``python3 -q``,
    ``A=1 python x.py``), so the shell that runs it gives way and the command leads its process
    group: Ctrl-C on a one-off's terminal reaches the command, not a shell that would die of it.
    Anything else (lists, pipes, redirections, compound commands) is left as it is."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return command
    if not words or any(set(word) <= _COMPOUND for word in words):
        return command
    if any(c in command for c in "\n`") or "$(" in command:
        return command
    if "=" in words[0] and words[0].partition("=")[0].isidentifier():
        return command  # 'A=1 cmd': rewriting it could change how its words expand
    if words[0] in _RESERVED:
        return command
    return f"exec {command}"
