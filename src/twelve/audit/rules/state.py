"""VI Processes: sessions in process memory, sticky sessions, committed runtime data."""

from __future__ import annotations

import os
import re

import yaml

from twelve.audit.jsindex import object_keys
from twelve.audit.nginx import NginxSyntaxError, parse_nginx
from twelve.audit.pyindex import str_value
from twelve.audit.roles import role
from twelve.audit.scan import Scan, per_file

SESSION = "state.in-process-session"
STICKY = "state.sticky-sessions"
RUNTIME_DATA = "state.committed-runtime-data"

_LOCAL_SESSIONS = {
    "SESSION_TYPE": {"filesystem"},
    "SESSION_ENGINE": {"django.contrib.sessions.backends.file"},
}


@per_file
def in_process_session(scan: Scan) -> None:
    """express-session without a store, Flask-Session filesystem, Django file sessions."""
    for file, index in scan.python_files():
        for binding in index.bindings:
            value = str_value(binding.value)
            if value in _LOCAL_SESSIONS.get(binding.name, ()):
                scan.report(
                    SESSION,
                    file.path,
                    binding.line,
                    f"{binding.name} = {value!r} keeps sessions on local disk",
                )
    for file, js in scan.js_files():
        if not any(spec == "express-session" for spec, _ in js.imports):
            continue
        for call in js.calls:
            if (
                call.callee in {"session", "expressSession", "require('express-session')"}
                and call.args
            ):
                options = call.args[0]
                if options.type == "object" and "store" not in object_keys(options):
                    scan.report(
                        SESSION,
                        file.path,
                        call.line,
                        "express-session without a store keeps sessions in memory",
                    )


def sticky_sessions(scan: Scan) -> None:
    """nginx ``ip_hash``/``sticky`` in an upstream; Kubernetes ``sessionAffinity: ClientIP``."""
    for path, file in scan.snapshot.files.items():
        if file.text is None or role(path) != "runtime":
            continue
        # Only files that can hold the directives are parsed.
        nginx_like = path.endswith(".conf") or (
            "nginx" in path.lower() and path.endswith(_NGINX_SUFFIXES)
        )
        if nginx_like and "upstream" in file.text:
            _nginx(scan, path, file.text)
        elif path.endswith((".yml", ".yaml")) and "ffinity" in file.text:
            _yaml(scan, path, file.text)


def _nginx(scan: Scan, path: str, text: str) -> None:
    try:
        directives = parse_nginx(text)
    except NginxSyntaxError as exc:
        scan.unparsed[path] = f"not nginx config: {exc}"
        return
    for directive in directives:
        if "upstream" not in directive.context:
            continue
        hashed = directive.name == "hash" and any(
            "remote_addr" in a or "cookie_" in a for a in directive.args
        )
        if directive.name in {"ip_hash", "sticky"} or hashed:
            scan.report(
                STICKY,
                path,
                directive.line,
                f"'{directive.name}' pins each client to one upstream process",
            )


_NGINX_SUFFIXES = (".conf", ".template", ".tmpl", ".j2", ".inc")
_AFFINITY = re.compile(r"^\s*sessionAffinity:\s*['\"]?ClientIP", re.MULTILINE)
_AFFINITY_KEYS = frozenset(
    {"nginx.ingress.kubernetes.io/affinity", "traefik.ingress.kubernetes.io/affinity"}
)


def _yaml(scan: Scan, path: str, text: str) -> None:
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        scan.unparsed[path] = f"not YAML: {str(exc).splitlines()[0]}"
        # Templated manifests (Helm) are not YAML until rendered; read the one key directly.
        for match in _AFFINITY.finditer(text):
            scan.report(
                STICKY,
                path,
                text.count("\n", 0, match.start()) + 1,
                "sessionAffinity: ClientIP pins clients to one pod",
            )
        return
    stack: list[yaml.Node] = [d for d in documents if d is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else ""
                if isinstance(value, yaml.ScalarNode):
                    if name == "sessionAffinity" and value.value == "ClientIP":
                        scan.report(
                            STICKY,
                            path,
                            key.start_mark.line + 1,
                            "sessionAffinity: ClientIP pins clients to one pod",
                        )
                    elif name in _AFFINITY_KEYS and value.value:
                        scan.report(
                            STICKY, path, key.start_mark.line + 1, f"{name} pins clients to one pod"
                        )
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


_DATA_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".log", ".pid", ".rdb")
_DATA_NAMES = frozenset(
    {"dump.rdb", "celerybeat-schedule", "celerybeat-schedule.db", "celerybeat.pid"}
)


def committed_runtime_data(scan: Scan) -> None:
    """Tracked database files, logs, pid files and uploaded media."""
    for path, file in scan.snapshot.files.items():
        if not file.tracked or role(path) != "runtime":
            continue
        name = os.path.basename(path).lower()
        parts = path.split("/")[:-1]
        if name.endswith(_DATA_SUFFIXES) or name in _DATA_NAMES:
            scan.report(RUNTIME_DATA, path, 0, f"{name} is runtime data tracked in git")
        elif parts[:1] in (["uploads"], ["media"]) and name != ".gitkeep":
            scan.report(RUNTIME_DATA, path, 0, f"{path} is an uploaded file tracked in git")


CHECKS = (in_process_session, sticky_sessions, committed_runtime_data)
