"""``TWELVE_ROUTER_PRELOAD``: shared libraries the router process loads before any other.

A sanitizer's runtime must be the first library in a process (AddressSanitizer aborts a process
that loads it later, as the sanitized build's C modules would), and only the dynamic loader can
put it there, from ``LD_PRELOAD`` as the process starts. So the router, started without them,
starts itself again at once with them added: its workers are forked from it and inherit them.
Nothing else the router starts inherits them: it starts no other program.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def environ_with(libraries: tuple[str, ...], environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment to start again with so that ``libraries`` load first, or None when they
    already do (``LD_PRELOAD`` holds each)."""
    loaded = environ.get("LD_PRELOAD", "").replace(":", " ").split()
    missing = [path for path in libraries if path not in loaded]
    if not missing:
        return None
    return {**environ, "LD_PRELOAD": " ".join([*missing, *loaded])}


def apply(libraries: tuple[str, ...]) -> None:
    """Replace this process with itself run again with ``libraries`` preloaded, unless they are;
    returns only when nothing needs doing."""
    environ = environ_with(libraries, os.environ)
    if environ is not None:
        sys.stdout.flush()
        argv = [sys.executable, *sys.orig_argv[1:]]  # the same interpreter and arguments
        os.execve(sys.executable, argv, environ)  # noqa: S606 (no shell: this very program)
