"""VIII Concurrency and IX Disposability: Procfile, schedulers, daemons and pid files."""

from __future__ import annotations

import ast
import os

from twelve.audit.formats import simple_commands
from twelve.audit.pyindex import dotted, str_value
from twelve.audit.rules.commands import start_commands
from twelve.audit.scan import Scan, per_file
from twelve.audit.startfiles import ini_values

PROCFILE = "process.procfile-missing"
SCHEDULER = "process.in-process-scheduler"
DAEMON = "process.daemonize"
PIDFILE = "process.pidfile"
SIGTERM = "process.no-sigterm-handler"


def procfile_missing(scan: Scan) -> None:
    """No ``Procfile`` at the root (or one with the wrong name) in a repository with code."""
    has_code = any(True for _ in scan.files("python")) or any(True for _ in scan.files("js"))
    if scan.has("Procfile") or not has_code:
        return
    misnamed = [p for p in scan.snapshot.files if "/" not in p and p.lower().startswith("procfile")]
    exact_wrong = [p for p in misnamed if p.lower() in {"procfile", "procfile.txt", "procfile.yml"}]
    if exact_wrong:
        scan.report(
            PROCFILE,
            exact_wrong[0],
            0,
            f"{exact_wrong[0]} is not read: the file must be named exactly 'Procfile'",
        )
    elif start_commands(scan, web_only=True) and not scan.dockerfiles:
        return  # npm start is the web process of a Node app without a Procfile
    elif misnamed:
        scan.report(
            PROCFILE, misnamed[0], 0, f"only {misnamed[0]} exists; production reads 'Procfile'"
        )
    else:
        scan.report(PROCFILE, "Procfile", 0, "no Procfile declares the web and worker processes")


_PY_SCHEDULERS = (
    "BackgroundScheduler",
    "AsyncIOScheduler",
    "GeventScheduler",
    "TornadoScheduler",
    "TwistedScheduler",
)
_JS_SCHEDULERS = {
    "node-cron": ("cron.schedule",),
    "cron": ("CronJob",),
    "node-schedule": ("schedule.scheduleJob", "scheduleJob"),
}


def _process_entries(scan: Scan) -> dict[str, str]:
    """Script path -> process type for Procfile commands like ``python clock.py`` or ``node worker.js``."""
    entries: dict[str, str] = {}
    for command in scan.procfile or []:
        for words in simple_commands(command.text):
            for word in words[1:3]:
                if word.endswith((".py", ".js", ".mjs", ".cjs", ".ts")):
                    entries[os.path.normpath(word)] = command.name
            if len(words) > 2 and words[1] == "-m":
                entries[words[2].replace(".", "/") + ".py"] = command.name
    return entries


@per_file
def in_process_scheduler(scan: Scan) -> None:
    """A background scheduler inside a process that is not its own ``clock``-style process type."""
    entries = _process_entries(scan)
    for file, index in scan.python_files():
        if entries.get(file.path, "web") != "web":
            continue
        # Only APScheduler's classes: other libraries name their own helpers BackgroundScheduler.
        if not any(name == "apscheduler" for name, _, _ in index.imports):
            continue
        for call in index.calls:
            if call.callee.split(".")[-1] in _PY_SCHEDULERS:
                scan.report(
                    SCHEDULER,
                    file.path,
                    call.node.lineno,
                    f"{call.callee} runs jobs inside this process",
                )
    for file, js in scan.js_files():
        if entries.get(file.path, "web") != "web":
            continue
        specs = {spec for spec, _ in js.imports}
        callees = {c for spec, names in _JS_SCHEDULERS.items() if spec in specs for c in names}
        for jc in js.calls:
            if jc.callee in callees:
                scan.report(
                    SCHEDULER, file.path, jc.line, f"{jc.callee} runs jobs inside this process"
                )


_DAEMON_FLAGS = frozenset({"-D", "--daemon", "--daemonize", "--detach", "-d"})
_PID_FLAGS = ("--pid", "--pidfile", "--pid-file")
_UWSGI_PROCESS_KEYS = frozenset({"daemonize", "daemonize2", "pidfile", "pidfile2"})


def daemonize_and_pidfile(scan: Scan) -> None:
    """Processes that background themselves or write pid files."""
    for path, command in start_commands(scan, web_only=False):
        text = command.text.rstrip()
        if text.endswith("&") and not text.endswith("&&"):
            scan.report(
                DAEMON,
                path,
                command.line,
                "the command puts the process in the background with '&'",
            )
        for words in simple_commands(text):
            tool = os.path.basename(words[0])
            flags = {w.partition("=")[0] for w in words[1:]}
            if (
                tool == "nohup"
                or (tool in {"pm2", "forever"} and "start" in words and "--no-daemon" not in words)
                or (tool in {"gunicorn", "uwsgi", "celery"} and flags & _DAEMON_FLAGS)
            ):
                scan.report(DAEMON, path, command.line, f"{tool} is told to daemonize")
            if any(f.startswith(_PID_FLAGS) for f in flags) or (
                tool == "gunicorn" and "-p" in flags
            ):
                scan.report(PIDFILE, path, command.line, f"{tool} writes a pid file")
    for path, source in scan.snapshot.files.items():
        base = os.path.basename(path).lower()
        if source.text is None or not base.endswith(".ini") or "uwsgi" not in base:
            continue
        for key, _, line in ini_values(source.text, _UWSGI_PROCESS_KEYS):
            if key.startswith("daemonize"):
                scan.report(DAEMON, path, line, "uWSGI is told to daemonize")
            else:
                scan.report(PIDFILE, path, line, "uWSGI writes a pid file")


@per_file
def daemonize_in_code(scan: Scan) -> None:
    """gunicorn config files that daemonize or write a pid file, python-daemon, ``open("x.pid")``."""
    for file, index in scan.python_files():
        if os.path.basename(file.path).startswith("gunicorn"):
            for binding in index.bindings:
                if (
                    binding.name == "daemon"
                    and isinstance(binding.value, ast.Constant)
                    and binding.value.value is True
                ):
                    scan.report(DAEMON, file.path, binding.line, "gunicorn is told to daemonize")
                elif binding.name == "pidfile" and str_value(binding.value):
                    scan.report(PIDFILE, file.path, binding.line, "gunicorn writes a pid file")
        uses_python_daemon = any(name == "daemon" for name, _, _ in index.imports)
        for call in index.calls:
            if call.callee == "daemon.DaemonContext" or (
                call.callee == "DaemonContext" and uses_python_daemon
            ):
                scan.report(
                    DAEMON, file.path, call.node.lineno, "the process detaches with python-daemon"
                )
            elif (
                call.callee == "open"
                and call.node.args
                and (str_value(call.node.args[0]) or "").endswith(".pid")
            ):
                scan.report(PIDFILE, file.path, call.node.lineno, "the process writes a pid file")


def no_sigterm_handler(scan: Scan) -> None:
    """Custom long-running Procfile processes with no SIGTERM handling (info)."""
    for path, kind in _process_entries(scan).items():
        source = scan.snapshot.files.get(path)
        if source is None or source.text is None:
            continue
        if path.endswith(".py"):
            index = scan.py(source)
            if index is None or not index.while_true:
                continue
            handles = any("SIGTERM" in dotted(a) for c in index.calls for a in c.node.args)
        else:
            js = scan.js(source)
            if js is None:
                continue
            handles = any(
                c.callee in {"process.on", "process.once"}
                and c.args
                and "SIG" in (c.args[0].text or b"").decode()
                for c in js.calls
            )
        if not handles:
            scan.report(SIGTERM, path, 0, f"the {kind} process does not handle SIGTERM")


CHECKS = (
    procfile_missing,
    in_process_scheduler,
    daemonize_and_pidfile,
    daemonize_in_code,
    no_sigterm_handler,
)
