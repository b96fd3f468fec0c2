"""X Dev/prod parity (SQLite beside another engine) and XI Logs (files, routing inside the app)."""

from __future__ import annotations

import ast
import re

from twelve.audit.formats import simple_commands
from twelve.audit.jsindex import JsCall, JsIndex, object_keys, string_value
from twelve.audit.manifests import read_manifests
from twelve.audit.pyindex import PyIndex, str_value
from twelve.audit.rules.commands import start_commands
from twelve.audit.scan import Scan, per_file

PARITY = "parity.dev-prod-database"
FILE_OUTPUT = "logs.file-output"
ROUTING = "logs.routing-in-app"

_FILE_HANDLERS = frozenset(
    {
        "FileHandler",
        "RotatingFileHandler",
        "TimedRotatingFileHandler",
        "WatchedFileHandler",
        "ConcurrentRotatingFileHandler",
    }
)
_ROUTING_HANDLERS = frozenset(
    {
        "SysLogHandler",
        "HTTPHandler",
        "SocketHandler",
        "DatagramHandler",
        "CloudWatchLogHandler",
        "LogstashHandler",
        "AsynchronousLogstashHandler",
        "GELFUDPHandler",
        "GELFTCPHandler",
        "GELFHTTPHandler",
        "FluentHandler",
        "LogglyHandler",
        "LogzioHandler",
    }
)
_JS_ROUTING = frozenset(
    {
        "winston-syslog",
        "winston-cloudwatch",
        "winston-loggly-bulk",
        "winston-papertrail",
        "pino-elasticsearch",
        "@logtail/node",
        "@logtail/winston",
        "winston-elasticsearch",
        "logzio-nodejs",
        "pino-socket",
    }
)
_LOG_FLAGS = (
    "--access-logfile",
    "--error-logfile",
    "--log-file",
    "--logto",
    "--access-log",
    "--log-config",
)
_SQLITE = re.compile(r"^sqlite(?:3)?(?:\+\w+)?:|django\.db\.backends\.sqlite3$")
_OTHER_ENGINE = re.compile(r"postgres|mysql|mariadb|oracle|mssql|cockroach", re.IGNORECASE)
_OTHER_DRIVERS = frozenset(
    {
        "psycopg",
        "psycopg2",
        "psycopg2-binary",
        "psycopg-binary",
        "mysqlclient",
        "pymysql",
        "asyncpg",
        "pg",
        "mysql2",
        "mysql",
    }
)


@per_file
def sqlite_uses(scan: Scan) -> None:
    """Gathers SQLite engines and fallbacks, and signs of another engine, for ``dev_prod_database``."""
    sqlite = scan.gather("parity.sqlite")
    others = scan.gather("parity.other")
    other = False
    for file, index in scan.python_files():
        for lit in index.strings:
            if _SQLITE.search(lit.value):
                sqlite.append((file.path, lit.line, lit.node_id in index.fallback_ids))
            elif _OTHER_ENGINE.search(lit.value) and (
                "://" in lit.value or "backends" in lit.value
            ):
                other = True
        other = other or any(r.key == "DATABASE_URL" for r in index.env_reads)
    for file, js in scan.js_files():
        for jb in js.bindings:
            value = string_value(jb.value) or ""
            if jb.name in {"dialect", "client"} and value.startswith("sqlite"):
                sqlite.append((file.path, jb.value.start_point[0] + 1, False))
        for jread in js.env_reads:
            value = string_value(jread.default) or ""
            if _SQLITE.search(value):
                sqlite.append((file.path, jread.line, True))
            other = other or jread.key == "DATABASE_URL"
    if other:
        others.append(True)


def dev_prod_database(scan: Scan) -> None:
    """SQLite as an env fallback, or a SQLite engine while another engine is declared or configured."""
    manifests = read_manifests(scan)
    other = bool(_OTHER_DRIVERS & (manifests.python | manifests.node)) or bool(
        scan.gather("parity.other")
    )
    for path, line, fallback in scan.gather("parity.sqlite"):
        if fallback:
            scan.report(
                PARITY, path, line, "SQLite is the fallback when the database URL is missing"
            )
        elif other:
            scan.report(
                PARITY, path, line, "SQLite here while production uses another database engine"
            )


def _handler_kind(callee: str) -> str | None:
    name = callee.rsplit(".", maxsplit=1)[-1]
    if name in _FILE_HANDLERS:
        return "file"
    if name in _ROUTING_HANDLERS:
        return "routing"
    return None


@per_file
def file_output(scan: Scan) -> None:
    """Log handlers, transports and server flags that write log files, and apps routing their logs."""
    for file, index in scan.python_files():
        _python_handler_calls(scan, file.path, index)
        _python_log_settings(scan, file.path, index)
    for file, js in scan.js_files():
        _js_log_output(scan, file.path, js)


def _python_handler_calls(scan: Scan, path: str, index: PyIndex) -> None:
    for call in index.calls:
        kind = _handler_kind(call.callee)
        name = call.callee.split(".")[-1]
        if kind == "file":
            scan.report(FILE_OUTPUT, path, call.node.lineno, f"{name} writes logs to a file")
        elif kind == "routing":
            scan.report(ROUTING, path, call.node.lineno, f"{name} sends logs from inside the app")
        elif call.callee == "logging.basicConfig" and any(
            k.arg == "filename" for k in call.node.keywords
        ):
            message = "logging.basicConfig(filename=...) writes logs to a file"
            scan.report(FILE_OUTPUT, path, call.node.lineno, message)


def _python_log_settings(scan: Scan, path: str, index: PyIndex) -> None:
    """A dictConfig handler class, or gunicorn's accesslog/errorlog set to a file."""
    for binding in index.bindings:
        value = str_value(binding.value) or ""
        if binding.name == "class" and binding.kind == "key":
            kind = _handler_kind(value)
            rule = FILE_OUTPUT if kind == "file" else ROUTING if kind == "routing" else None
            if rule is not None:
                scan.report(rule, path, binding.line, f"the logging config uses {value}")
        elif (
            binding.name in {"accesslog", "errorlog"}
            and binding.module_level
            and value not in {"", "-"}
            and isinstance(binding.value, ast.Constant)
        ):
            message = f"gunicorn {binding.name} writes to {value!r}"
            scan.report(FILE_OUTPUT, path, binding.line, message)


def _js_log_output(scan: Scan, path: str, js: JsIndex) -> None:
    for spec, line in js.imports:
        if spec in _JS_ROUTING:
            scan.report(ROUTING, path, line, f"{spec} sends logs from inside the app")
    for jc in js.calls:
        found = _js_call_output(jc)
        if found is not None:
            scan.report(found[0], path, jc.line, found[1])
    for obj in js.objects:
        keys = object_keys(obj)
        if (
            string_value(keys.get("type")) in {"file", "dateFile", "fileSync"}
            and "filename" in keys
        ):
            message = "a log4js file appender writes logs to a file"
            scan.report(FILE_OUTPUT, path, obj.start_point[0] + 1, message)


def _js_call_output(jc: JsCall) -> tuple[str, str] | None:
    """The rule a Node logging call breaks, and how, if it writes or ships its logs itself."""
    name = jc.callee.split(".")[-1]
    first = string_value(jc.args[0]) if jc.args else None
    if jc.is_new and jc.callee.endswith(("transports.File", "transports.DailyRotateFile")):
        return FILE_OUTPUT, f"the {name} transport writes logs to a file"
    if jc.is_new and jc.callee.endswith("transports.Http"):
        return ROUTING, "the Http transport sends logs from inside the app"
    if jc.callee.endswith("createWriteStream") and first and first.endswith(".log"):
        return FILE_OUTPUT, f"logs are written to {first!r}"
    if jc.callee.endswith("pino.destination") and first and not first.isdigit():
        return FILE_OUTPUT, f"pino writes logs to {first!r}"
    return None


def log_flags(scan: Scan) -> None:
    """Server flags in start commands that send logs to a file."""
    for path, command in start_commands(scan, web_only=False):
        for words in simple_commands(command.text):
            for i, word in enumerate(words):
                flag, _, value = word.partition("=")
                value = value or (words[i + 1] if i + 1 < len(words) else "")
                if (
                    flag in _LOG_FLAGS
                    and value not in {"-", "", "/dev/stdout", "/dev/stderr"}
                    and flag != "--log-config"
                ):
                    scan.report(
                        FILE_OUTPUT, path, command.line, f"{flag} {value} writes logs to a file"
                    )


CHECKS = (sqlite_uses, dev_prod_database, file_output, log_flags)
