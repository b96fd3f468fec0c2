"""VII Port binding: a literal port wherever production starts the web server.

The start path is read where apps keep it: the Procfile and ``npm start``, the container's ``CMD``
and ``ENTRYPOINT`` and the shell scripts they run, compose ``command:``, gunicorn, uWSGI and
supervisord files, and server calls in code. A command that mentions ``$PORT`` is fine; so are files
named for development and compose services that mount the source tree (a dev setup).
"""

from __future__ import annotations

import ast
import os
import re

from twelve.audit.formats import Command, simple_commands
from twelve.audit.pyindex import str_value
from twelve.audit.roles import role
from twelve.audit.rules.commands import script_lines, start_commands
from twelve.audit.scan import Scan, per_file
from twelve.audit.startfiles import (
    compose_commands,
    ini_values,
    is_compose_file,
    is_dev_name,
    shell_lines,
    supervisor_commands,
)

PORT = "port.hardcoded-port"

_PORT_FLAGS = frozenset({"-p", "--port", "-b", "--bind", "--listen", "--http", "--http-socket"})
_LISTEN_FLAGS = frozenset({"-l", "--listen"})
LITERAL_PORT = re.compile(r"^(?:[\w.\[\]:-]*:)?(\d{2,5})$")
_SERVERS = frozenset(
    {
        "gunicorn",
        "uvicorn",
        "hypercorn",
        "daphne",
        "waitress-serve",
        "flask",
        "uwsgi",
        "next",
        "serve",
        "http-server",
    }
)
_ENTRY_SCRIPTS = re.compile(r"(^|[_-])(entrypoint|boot|start|run|serve)([_-].*)?\.sh$")
_UWSGI_KEYS = frozenset({"http", "socket", "http-socket", "https", "uwsgi-socket"})


def _words(words: list[str]) -> list[str]:
    """Exec-form arguments such as ``"-l 3000"`` split into flag and value."""
    out: list[str] = []
    for word in words:
        out.extend(word.split() if word.startswith("-") and " " in word else [word])
    return out


def port_in(words: list[str]) -> str | None:
    """A literal port passed to a server, or to ``runserver``."""
    words = _words(words)
    tool = os.path.basename(words[0])
    if tool in {"python", "python3"} and "runserver" in words:
        after = words[words.index("runserver") + 1 :]
        target = next((w for w in after if not w.startswith("-")), "")
        match = LITERAL_PORT.match(target)
        return match.group(1) if match else None
    if tool not in _SERVERS:
        return None
    flags = _PORT_FLAGS | (_LISTEN_FLAGS if tool in {"serve", "http-server"} else frozenset())
    for i, word in enumerate(words[1:], start=1):
        flag, _, value = word.partition("=")
        if flag in flags and not (tool == "gunicorn" and flag == "-p"):
            value = value or (words[i + 1] if i + 1 < len(words) else "")
            match = LITERAL_PORT.match(value)
            if match and "$" not in value:
                return match.group(1)
    return None


def _check_line(scan: Scan, path: str, command: Command, what: str) -> None:
    if "PORT" in command.text:
        return
    for words in simple_commands(command.text):
        port = port_in(words)
        if port:
            scan.report(PORT, path, command.line, f"{what} binds port {port} instead of $PORT")
            return


def _entry_scripts(scan: Scan) -> dict[str, list[Command]]:
    """Shell scripts that start containers: named like entrypoints, or run by a Dockerfile."""
    scripts: dict[str, list[Command]] = {}
    for path, file in scan.snapshot.files.items():
        base = os.path.basename(path).lower()
        if file.text is None or role(path) != "runtime" or is_dev_name(path):
            continue
        if _ENTRY_SCRIPTS.search(base):
            scripts[path] = shell_lines(file.text)
    for instructions in scan.dockerfiles.values():
        for command in instructions:
            if command.name not in {"CMD", "ENTRYPOINT"}:
                continue
            for words in simple_commands(command.text):
                found = script_lines(scan, words)
                if found and not is_dev_name(found[0]):
                    scripts[found[0]] = shell_lines(scan.text(found[0]) or "")
    return scripts


def start_paths(scan: Scan) -> None:
    """Procfile, ``npm start``, container starts, entry scripts, compose, uWSGI, supervisord."""
    for path, command in start_commands(scan, web_only=True):
        what = (
            "the container start" if path not in {"Procfile", "package.json"} else "the web process"
        )
        _check_line(scan, path, command, what)
    for path, lines in _entry_scripts(scan).items():
        for command in lines:
            _check_line(scan, path, command, "the start script")
    for path, file in scan.snapshot.files.items():
        if file.text is None or role(path) != "runtime" or is_dev_name(path):
            continue
        base = os.path.basename(path).lower()
        if is_compose_file(path):
            for service in compose_commands(file.text):
                if not service.mounts_source and "--reload" not in service.text:
                    command = Command(service.service, service.text, service.line)
                    _check_line(scan, path, command, f"the {service.service} service")
        elif base.endswith(".ini") and "uwsgi" in base:
            for key, value, line in ini_values(file.text, _UWSGI_KEYS):
                match = LITERAL_PORT.match(value)
                if match and "$" not in value:
                    scan.report(
                        PORT,
                        path,
                        line,
                        f"uWSGI {key} binds port {match.group(1)} instead of $PORT",
                    )
        elif base.endswith((".conf", ".ini")) and "[program:" in file.text:
            for command in supervisor_commands(file.text):
                _check_line(scan, path, command, "the supervised program")


@per_file
def in_code(scan: Scan) -> None:
    """gunicorn config files, server calls outside ``__main__``, and Node servers on a literal port."""
    for file, index in scan.python_files():
        base = os.path.basename(file.path)
        if base.startswith("gunicorn") and not is_dev_name(file.path):
            for binding in index.bindings:
                value = str_value(binding.value) or ""
                if binding.name == "bind" and (match := LITERAL_PORT.match(value)):
                    scan.report(
                        PORT,
                        file.path,
                        binding.line,
                        f"gunicorn binds port {match.group(1)} instead of $PORT",
                    )
        for call in index.calls:
            if call.in_main or not call.callee.endswith(("run", "run_app", "serve")):
                continue
            port_arg = next((k.value for k in call.node.keywords if k.arg == "port"), None)
            if (
                isinstance(port_arg, ast.Constant)
                and isinstance(port_arg.value, int)
                and port_arg.value > 0
            ):
                scan.report(
                    PORT, file.path, call.node.lineno, f"{call.callee}() binds a literal port"
                )
    for file, js in scan.js_files():
        literal_names = {
            b.name: b.value.start_point[0] + 1
            for b in js.bindings
            if b.name in {"PORT", "port", "Port"}
            and b.value.type == "number"
            and b.kind == "assign"
        }
        for jc in js.calls:
            if not jc.callee.endswith(".listen") or not jc.args:
                continue
            first = jc.args[0]
            if first.type == "number":
                scan.report(
                    PORT,
                    file.path,
                    jc.line,
                    f"{jc.callee}() binds a literal port instead of process.env.PORT",
                )
            elif (
                first.type == "identifier"
                and (name := (first.text or b"").decode()) in literal_names
            ):
                scan.report(
                    PORT,
                    file.path,
                    literal_names[name],
                    f"{name} is a literal port that {jc.callee}() binds instead of process.env.PORT",
                )


CHECKS = (start_paths, in_code)
