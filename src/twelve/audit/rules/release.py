"""V Build, release, run (admin work in the web start) and XII Admin processes (ssh to servers)."""

from __future__ import annotations

import os
import re

from twelve.audit.formats import Command, simple_commands
from twelve.audit.pyindex import str_value
from twelve.audit.rules.commands import script_lines, start_commands
from twelve.audit.scan import Scan, per_file

ADMIN_IN_WEB = "release.admin-in-web-start"
SSH = "admin.ssh"

_MIGRATIONS = (
    ("manage.py", "migrate"),
    ("django-admin", "migrate"),
    ("alembic", "upgrade"),
    ("flask", "db"),
    ("prisma", "migrate"),
    ("knex", "migrate:latest"),
    ("sequelize", "db:migrate"),
    ("rake", "db:migrate"),
    ("rails", "db:migrate"),
    ("yoyo", "apply"),
    ("manage.py", "collectstatic"),
    ("webpack", ""),
    ("vite", "build"),
    ("tsc", ""),
    ("next", "build"),
    ("npm", "install"),
    ("npm", "ci"),
    ("pip", "install"),
    ("typeorm", "migration:run"),
    ("knex", "migrate"),
    ("sequelize-cli", "db:migrate"),
)
_RUNNERS = frozenset({"npm", "yarn", "pnpm"})


def _admin_step(words: list[str]) -> str | None:
    while words and words[0] in {"python", "python3", "npx", "node", "uv", "poetry", "pipenv"} | {
        "run"
    }:
        words = words[1:]
    if not words:
        return None
    tool = os.path.basename(words[0])
    rest = words[1:]
    for name, verb in _MIGRATIONS:
        if tool == name and (not verb or verb in rest[:2]):
            return " ".join(words[:3])
    if (
        tool in _RUNNERS
        and len(rest) >= 2
        and rest[0] == "run"
        and rest[1] in {"build", "migrate", "db:migrate"}
    ):
        return " ".join(words[:3])
    return None


def admin_in_web_start(scan: Scan) -> None:
    """Migrations, asset builds or installs in the web process's start command (or its script)."""
    for path, command in start_commands(scan, web_only=True):
        for words in simple_commands(command.text):
            step = _admin_step(words)
            if step:
                scan.report(
                    ADMIN_IN_WEB, path, command.line, f"the web start runs '{step}' on every start"
                )
                break
            script = script_lines(scan, words)
            for line in script[1] if script else []:
                inner = next((s for w in simple_commands(line.text) if (s := _admin_step(w))), None)
                if inner and script:
                    scan.report(
                        ADMIN_IN_WEB,
                        script[0],
                        line.line,
                        f"the web start script runs '{inner}' on every start",
                    )


def _ssh_target(words: list[str]) -> bool:
    tool = os.path.basename(words[0])
    if tool == "sshpass":
        return _ssh_target(words[1:]) if len(words) > 1 else False
    args = [w for w in words[1:] if not w.startswith("-")]
    if tool == "ssh":
        return bool(args)
    if tool in {"scp", "rsync"}:
        return any(":" in a and not a.startswith(("/", ".")) and "://" not in a for a in args)
    return False


_CI_FILE = re.compile(r"(^|/)(\.github/workflows/[^/]+|\.gitlab-ci|bitbucket-pipelines)\.ya?ml$")
_RUN_PREFIX = re.compile(r"^\s*(?:-\s+)?(?:run:\s*[|>]?-?)?")


def ssh(scan: Scan) -> None:
    """Scripts that ssh, scp or rsync to servers, and Python that drives ssh (fabric, paramiko)."""
    sources: dict[str, list[Command]] = {}
    for file in scan.named("*.sh", "*.bash", "Makefile", "Capfile"):
        sources[file.path] = [
            Command("sh", raw, n) for n, raw in enumerate((file.text or "").splitlines(), 1)
        ]
    # CI deploy jobs: the shell lines of ``run:`` steps.
    for path, file in scan.snapshot.files.items():
        if file.text is not None and _CI_FILE.search(path):
            sources[path] = [
                Command("sh", _RUN_PREFIX.sub("", raw), n)
                for n, raw in enumerate(file.text.splitlines(), 1)
            ]
    for path, commands in sources.items():
        for command in commands:
            if command.text.lstrip().startswith("#"):
                continue
            if any(_ssh_target(w) for w in simple_commands(command.text)):
                scan.report(SSH, path, command.line, "the script logs in to a server over ssh")


@per_file
def ssh_in_code(scan: Scan) -> None:
    """Python that drives ssh (fabric, paramiko, ``subprocess`` running ssh) and Node ssh clients."""
    for file, index in scan.python_files():
        for name, line, _ in index.imports:
            if name in {"fabric", "paramiko", "fabric2", "invoke_ssh"}:
                scan.report(
                    SSH, file.path, line, f"uses {name} to run commands on servers over ssh"
                )
        for call in index.calls:
            if call.callee.startswith("subprocess.") and call.node.args:
                first = call.node.args[0]
                argv = [str_value(e) or "" for e in getattr(first, "elts", [])] or (
                    str_value(first) or ""
                ).split()
                if argv and _ssh_target(argv):
                    scan.report(SSH, file.path, call.node.lineno, "runs ssh to a server")
    for file, js in scan.js_files():
        for spec, line in js.imports:
            if spec in {"ssh2", "node-ssh", "ssh2-sftp-client"}:
                scan.report(
                    SSH, file.path, line, f"uses {spec} to run commands on servers over ssh"
                )


CHECKS = (admin_in_web_start, ssh, ssh_in_code)
