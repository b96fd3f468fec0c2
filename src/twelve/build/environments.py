"""An app's virtualenvs, kept per set of inputs, so a redeploy that changes no dependency installs none.

Heroku keeps an app's installed packages in its build cache and installs over them, so a push that
changes no dependency file installs nothing. twelve keeps each environment it builds under
``builds/APP/venvs/KEY``, where KEY digests everything that decides its contents (the interpreter,
the dependency files, the commands that install them), and a slug's ``venv`` links to it. A complete
environment is never changed again, so every release linking it, rollback targets included, keeps
working; they are removed with the app.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from twelve.build.plan import Step
from twelve.supervisor.isolation import give_to
from twelve.supervisor.launch import Identity

# What a Python build installs from; any of them changing makes a new environment.
DEPENDENCY_FILES = (
    "requirements.txt",
    "uv.lock",
    "pyproject.toml",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
)
COMPLETE = ".twelve-complete"  # written last: an environment without it is rebuilt
# Lines of a requirements file that pull in other files or the app's own source: their contents
# are not in the key, so such an app is always installed afresh.
_LOCAL_REQUIREMENT = re.compile(r"^\s*(-r|-c|-e|--requirement|--constraint|--editable|\.|/|file:)")
# In uv.lock, the app itself is ``editable = "."`` (never installed: --no-install-project); any
# other local source is another project of the repository.
_LOCAL_LOCK_SOURCE = re.compile(r'\b(editable|path|directory)\s*=\s*"(?!\.")')


def read_dependency_files(app_dir: Path) -> dict[str, bytes]:
    return {n: (app_dir / n).read_bytes() for n in DEPENDENCY_FILES if (app_dir / n).is_file()}


def reusable(files: dict[str, bytes]) -> bool:
    """Whether the dependency files alone decide the environment (no local paths, no includes)."""
    requirements = files.get("requirements.txt", b"").decode(errors="replace")
    if any(_LOCAL_REQUIREMENT.match(line) for line in requirements.splitlines()):
        return False
    lock = files.get("uv.lock", b"").decode(errors="replace")
    return not _LOCAL_LOCK_SOURCE.search(lock)


def environment_key(files: dict[str, bytes], interpreter: str, steps: Sequence[Step]) -> str:
    """A digest of every input of the install steps (unrendered, so the slug path is not in it)."""
    digest = hashlib.sha256()
    digest.update(interpreter.encode())
    for step in steps:
        if step.installs:
            digest.update(json.dumps([step.argv, step.env]).encode())
    for name in sorted(files):
        digest.update(f"\0{name}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    return digest.hexdigest()[:24]


def complete_one(root: Path, key: str) -> Path | None:
    """The finished environment for ``key``, if an earlier build made one."""
    target = root / key
    return target if (target / COMPLETE).is_file() else None


def made_by(environment: Path) -> str:
    """Which build made an environment (for the build output)."""
    try:
        return (environment / COMPLETE).read_text().strip() or "an earlier build"
    except OSError:
        return "an earlier build"


async def give_to_app(venv: Path, identity: Identity | None) -> None:
    """A slug's environment becomes the app user's too: walked once, when it is new."""
    if identity is None or not venv.is_symlink():
        return
    target = venv.resolve()
    await give_to(target.parent, identity, recursive=False)
    if target.stat().st_uid != identity.uid:
        await give_to(target, identity)
