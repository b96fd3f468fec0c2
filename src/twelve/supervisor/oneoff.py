"""One-off processes (``run.N``) and the release phase (``release.N``): run once, to completion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from twelve.store import Release
from twelve.supervisor import spawn
from twelve.supervisor.confine import Confiner
from twelve.supervisor.environment import slug_environment
from twelve.supervisor.launch import launch_argv
from twelve.supervisor.scratch import make_scratch, remove_scratch
from twelve.values import NO_LIMITS, Limits


async def run_in_release(
    release: Release,
    command: str,
    name: str,
    scratch_root: Path,
    on_line: Callable[[str], None],
    timeout: float | None = None,
    confiner: Confiner | None = None,
    limits: Limits = NO_LIMITS,
) -> int | None:
    """Run ``command`` as ``name`` in the release's exact environment; its exit code.

    It gets a private writable copy of the app directory, as every process does. None means the
    timeout passed and the process group was stopped.
    """
    if release.slug_dir is None:
        raise ValueError("a release without a build cannot run processes")
    slug = Path(release.slug_dir)
    placement = (confiner or Confiner.off()).place(release.app, name, limits)
    identity = placement.confinement.identity
    scratch = await make_scratch(slug / "app", scratch_root / release.app, name, identity)
    env = slug_environment(
        slug,
        scratch.path,
        app=release.app,
        dyno=name,
        release=release.version,
        config=release.config,
        commit=release.commit,
        port=None,
        limits=limits,
    )
    try:
        return await spawn.run_to_completion(
            launch_argv(command, placement.confinement),
            cwd=scratch.path,
            env=env,
            on_line=on_line,
            timeout=timeout,
        )
    finally:
        await remove_scratch(scratch)
        if placement.cgroups is not None:
            placement.cgroups.remove()
