"""What Heroku's buildpacks set for every dyno, from the dyno's size: a pure value.

The supervisor gives it to every process; the exports bake it into the image. Imports only the
plain values, so both may use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from twelve.values import NO_LIMITS, Limits

# Heroku's dyno size for a process with no memory limit: Standard-1X's 512 MB.
DEFAULT_MEMORY_MB = 512
# Node's buildpack: the memory each process is expected to use (the app may set WEB_MEMORY).
DEFAULT_WEB_MEMORY_MB = 512


def web_concurrency(language: str, memory_mb: int, cpus: int, web_memory_mb: int = 512) -> int:
    """Heroku's WEB_CONCURRENCY: Python's buildpack gives min(2 x cores + 1, memory / 256 MB),
    Node's gives memory / WEB_MEMORY, at most 32; both at least 1."""
    if language == "python":
        return max(1, min(2 * cpus + 1, memory_mb // 256))
    return max(1, min(32, memory_mb // max(1, web_memory_mb)))


def dyno_size(limits: Limits) -> tuple[int, int]:
    """(memory in MB, cores) a process's buildpack defaults are computed from, as a dyno's are:
    its memory limit (else Standard-1X's 512 MB) and its CPU limit rounded up (else the machine's)."""
    memory_mb = limits.memory // (1 << 20) if limits.memory else DEFAULT_MEMORY_MB
    cpus = math.ceil(limits.cpu) if limits.cpu else (os.cpu_count() or 1)
    return memory_mb, max(1, cpus)


def _web_memory(config: Mapping[str, str]) -> int:
    value = config.get("WEB_MEMORY", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_WEB_MEMORY_MB


def buildpack_defaults(
    *,
    python: bool,
    node: bool,
    workdir: str,
    limits: Limits = NO_LIMITS,
    config: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What Heroku's buildpacks set for every dyno of such an app; app config overrides each."""
    memory_mb, cpus = dyno_size(limits)
    env: dict[str, str] = {}
    if node:
        web_memory = _web_memory(config or {})
        env["NODE_ENV"] = "production"
        env["MEMORY_AVAILABLE"] = str(memory_mb)
        env["WEB_MEMORY"] = str(web_memory)
        env["WEB_CONCURRENCY"] = str(web_concurrency("node", memory_mb, cpus, web_memory))
    if python:
        env.update(
            {
                "WEB_CONCURRENCY": str(web_concurrency("python", memory_mb, cpus)),
                "FORWARDED_ALLOW_IPS": "*",  # the router is the only peer: trust its X-Forwarded-*
                "PYTHONHASHSEED": "random",
                "PYTHONPATH": workdir,
            }
        )
    return env
