"""X Dev/prod parity (SQLite beside another engine) and XI Logs (files, routing inside the app)."""

from __future__ import annotations

import ast
import re

from twelve.audit.formats import simple_commands
from twelve.audit.jsindex import object_keys, string_value
from twelve.audit.manifests import read_manifests
from twelve.audit.pyindex import str_value
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
        for call in index.calls:
            kind = _handler_kind(call.callee)
            if kind == "file":
                scan.report(
                    FILE_OUTPUT,
                    file.path,
                    call.node.lineno,
                    f"{call.callee.split('.')[-1]} writes logs to a file",
                )
            elif kind == "routing":
                scan.report(
                    ROUTING,
                    file.path,
                    call.node.lineno,
                    f"{call.callee.split('.')[-1]} sends logs from inside the app",
                )
            elif call.callee == "logging.basicConfig" and any(
                k.arg == "filename" for k in call.node.keywords
            ):
                scan.report(
                    FILE_OUTPUT,
                    file.path,
                    call.node.lineno,
                    "logging.basicConfig(filename=...) writes logs to a file",
                )
        for binding in index.bindings:
            value = str_value(binding.value) or ""
            if binding.name == "class" and binding.kind == "key":
                kind = _handler_kind(value)
                if kind == "file":
                    scan.report(
                        FILE_OUTPUT, file.path, binding.line, f"the logging config uses {value}"
                    )
                elif kind == "routing":
                    scan.report(
                        ROUTING, file.path, binding.line, f"the logging config uses {value}"
                    )
            elif (
                binding.name in {"accesslog", "errorlog"}
                and binding.module_level
                and value not in {"", "-"}
                and isinstance(binding.value, ast.Constant)
            ):
                scan.report(
                    FILE_OUTPUT,
                    file.path,
                    binding.line,
                    f"gunicorn {binding.name} writes to {value!r}",
                )
    for file, js in scan.js_files():
        for spec, line in js.imports:
            if spec in _JS_ROUTING:
                scan.report(ROUTING, file.path, line, f"{spec} sends logs from inside the app")
        for jc in js.calls:
            name = jc.callee.split(".")[-1]
            first = string_value(jc.args[0]) if jc.args else None
            if jc.is_new and jc.callee.endswith(("transports.File", "transports.DailyRotateFile")):
                scan.report(
                    FILE_OUTPUT, file.path, jc.line, f"the {name} transport writes logs to a file"
                )
            elif jc.is_new and jc.callee.endswith("transports.Http"):
                scan.report(
                    ROUTING, file.path, jc.line, "the Http transport sends logs from inside the app"
                )
            elif jc.callee.endswith("createWriteStream") and first and first.endswith(".log"):
                scan.report(FILE_OUTPUT, file.path, jc.line, f"logs are written to {first!r}")
            elif jc.callee.endswith("pino.destination") and first and not first.isdigit():
                scan.report(FILE_OUTPUT, file.path, jc.line, f"pino writes logs to {first!r}")
        for obj in js.objects:
            keys = object_keys(obj)
            if (
                string_value(keys.get("type")) in {"file", "dateFile", "fileSync"}
                and "filename" in keys
            ):
                scan.report(
                    FILE_OUTPUT,
                    file.path,
                    obj.start_point[0] + 1,
                    "a log4js file appender writes logs to a file",
                )


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
