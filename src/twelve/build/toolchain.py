"""The interpreter and node a build uses, and where they came from (said in the build output).

With per-app users (isolated mode) only the platform's runtimes are used, installed on the spot
when missing, because an app user cannot run what lives in root's home. Otherwise the machine's
interpreters serve as they are, beside any runtime already installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from twelve.build import interpreters
from twelve.build.plan import SourceFacts
from twelve.runtimes.service import RegistryUnreachable, Runtimes
from twelve.settings import Settings

Emit = Callable[[str], None]


@dataclass
class Toolchain:
    python: str = ""  # interpreter path for {python}
    python_label: str = ""
    node_bin: Path | None = None  # a node runtime's bin, first on PATH
    runtimes: list[str] = field(default_factory=list)  # keys of runtimes the slug depends on


def _threadsafe(emit: Emit) -> Emit:
    """An emit a worker thread may call: the line is handed to the event loop's thread."""
    loop = asyncio.get_running_loop()

    def say(text: str) -> None:
        loop.call_soon_threadsafe(emit, f"       {text}")

    return say


async def choose_python(
    settings: Settings, facts: SourceFacts, isolated: bool, emit: Emit, chain: Toolchain
) -> None:
    source = facts.python_version_file or "the platform default"
    runtimes = Runtimes(settings)
    if isolated:
        runtime, note = await asyncio.to_thread(
            runtimes.ensure_python, facts.python_request, _threadsafe(emit)
        )
        if note:
            emit(f"-----> {note}")
        emit(
            f"-----> Python {runtime.label} (from {source}); runtime {runtime.key}, "
            f"{runtime.source}"
        )
        chain.python, chain.python_label = str(runtime.program), runtime.label
        chain.runtimes.append(runtime.key)
        return
    available = list(interpreters.discover())
    installed = {r.version: r for r in runtimes.installed("python")}
    have = {i.version for i in available}
    available += [
        interpreters.Interpreter(v, str(r.program)) for v, r in installed.items() if v not in have
    ]
    choice = interpreters.choose(facts.python_request, available, settings.python_default)
    if choice.note:
        emit(f"-----> {choice.note}")
    emit(f"-----> Python {choice.interpreter.label} (from {source}; {choice.interpreter.path})")
    chain.python, chain.python_label = choice.interpreter.path, choice.interpreter.label
    used = installed.get(choice.interpreter.version)
    if used is not None and choice.interpreter.path == str(used.program):
        chain.runtimes.append(used.key)


async def choose_node(
    settings: Settings, facts: SourceFacts, emit: Emit, chain: Toolchain
) -> SourceFacts:
    """The node for ``engines.node``: a runtime when the machine's does not satisfy it.

    Where no registry can be reached the machine's node is kept, with the plan's warning.
    """
    if not facts.node_engine:
        return facts
    try:
        runtime = await asyncio.to_thread(
            Runtimes(settings).ensure_node, facts.node_engine, _threadsafe(emit)
        )
    except RegistryUnreachable as exc:
        emit(f"-----> Warning: {exc.message}")
        return facts
    if runtime is None:
        emit(
            f"-----> Node.js {facts.node_version} (this machine's; satisfies {facts.node_engine!r})"
        )
        return facts
    emit(
        f"-----> Node.js {runtime.label} (satisfies engines.node {facts.node_engine!r}); "
        f"runtime {runtime.key}, {runtime.source}"
    )
    chain.node_bin = runtime.bin_dir
    chain.runtimes.append(runtime.key)
    return replace(facts, node_version=runtime.label)


def link_runtime(slug_dir: Path, bin_dir: Path) -> None:
    """``slug/runtime/bin`` links to the node runtime, so processes find it on PATH."""
    target = slug_dir / "runtime" / "bin"
    target.mkdir(parents=True, exist_ok=True)
    for tool in ("node", "npm", "npx"):
        if (bin_dir / tool).exists():
            (target / tool).symlink_to(bin_dir / tool)
