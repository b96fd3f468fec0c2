"""Pure naming and credential logic of add-ons: names, config vars, URLs, password verifiers.

Nothing here touches a server. Passwords leave this module only inside the app-facing URL; what is
sent to a server to create a login is a verifier (PostgreSQL's SCRAM-SHA-256, Redis's SHA-256), so a
server that logs the statement still never logs the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from twelve.appspec.names import checked_name, validate_config_key
from twelve.errors import UsageError

SERVICES = ("postgres", "redis")
DEFAULT_VARS = {"postgres": "DATABASE_URL", "redis": "REDIS_URL"}
# Scheme of an attached URL → the variable it gets when --as is not given.
_SCHEME_VARS = {
    "postgres": "DATABASE_URL",
    "postgresql": "DATABASE_URL",
    "mysql": "DATABASE_URL",
    "redis": "REDIS_URL",
    "rediss": "REDIS_URL",
    "smtp": "SMTP_URL",
    "smtps": "SMTP_URL",
    "amqp": "AMQP_URL",
    "amqps": "AMQP_URL",
    "s3": "S3_URL",
}
_SERVICE_ALIASES = {"postgres": "postgres", "postgresql": "postgres", "redis": "redis"}
_ADDON_NAME = re.compile(r"[a-z][a-z0-9-]{1,62}")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
SCRAM_ITERATIONS = 4096


def service_kind(text: str) -> str:
    """``postgres``/``postgresql``/``redis`` → the service's canonical name; else a UsageError."""
    kind = _SERVICE_ALIASES.get(text.strip().lower().split(":", 1)[0])
    if kind is None:
        raise UsageError(
            f"unknown add-on service {text!r}",
            "use postgres or redis; attach anything else by URL with addons:attach",
        )
    return kind


def new_addon_name(kind: str, app: str) -> str:
    """A fresh add-on name such as ``postgres-notes-k3x9q``: the service, the app, a random tail."""
    tail = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(5))
    return f"{kind}-{app}-{tail}"


def validate_addon_name(name: str) -> str:
    """Return ``name`` if it can name an add-on (it becomes part of database and user names)."""
    rule = "use 2-63 lowercase letters, digits and single dashes, starting with a letter"
    return checked_name(name, _ADDON_NAME, "add-on name", rule, single_dashes=True)


def resource_identifier(addon: str) -> str:
    """The database, role and Redis user name of an add-on: ``twelve_`` + its name, dashes as ``_``.

    Prefixed so an operator sees at a glance which objects on a shared server twelve made.
    """
    return "twelve_" + validate_addon_name(addon).replace("-", "_")


def config_var(kind: str, given: str | None) -> str:
    """The variable an add-on sets: ``--as`` when given (``--as CACHE`` means ``CACHE_URL``)."""
    if not given:
        return DEFAULT_VARS[kind]
    name = given.strip().upper()
    if not name.endswith("_URL"):
        name += "_URL"
    return validate_config_key(name)


def new_password() -> str:
    """A random password: URL-safe, so it needs no escaping in a connection URL."""
    return secrets.token_urlsafe(24)


def scram_sha256_verifier(password: str, salt: bytes | None = None) -> str:
    """PostgreSQL's stored form of ``password`` (RFC 5802/7677), computed here, not by the server."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def redis_password_hash(password: str) -> str:
    """Redis ACL's ``#<sha256>`` form of a password."""
    return "#" + hashlib.sha256(password.encode()).hexdigest()


def redis_acl_rules(password: str, database: int) -> list[str]:
    """ACL SETUSER rules: every data command, no admin ones, and SELECT of its own database only."""
    return [
        "reset",
        "on",
        redis_password_hash(password),
        "~*",
        "&*",
        "+@all",
        "-@admin",
        "-@dangerous",
        # Harmless commands that Redis files under "dangerous" but client libraries use.
        "+keys",
        "+info",
        "+flushdb",
        "-select",
        f"+select|{database}",
    ]


def server_address(url: str) -> tuple[str, int]:
    """(host, port) of a service URL; the default port of its scheme when it names none."""
    parts = urlsplit(url)
    default = 6379 if parts.scheme.startswith("redis") else 5432
    try:
        port = parts.port or default
    except ValueError:
        raise UsageError(
            f"the URL for {parts.hostname or 'the server'} has an invalid port"
        ) from None
    return parts.hostname or "127.0.0.1", port


def server_id(url: str) -> str:
    """``host:port`` of a server: names it in the store and in messages, with no credential."""
    host, port = server_address(url)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def postgres_url(user: str, password: str, host: str, port: int, database: str) -> str:
    """Heroku's ``postgres://`` scheme: some apps string-match it, and libpq reads it too."""
    netloc_host = f"[{host}]" if ":" in host else host
    return f"postgres://{quote(user)}:{quote(password)}@{netloc_host}:{port}/{quote(database)}"


def redis_url(user: str, password: str, host: str, port: int, database: int) -> str:
    netloc_host = f"[{host}]" if ":" in host else host
    return f"redis://{quote(user)}:{quote(password)}@{netloc_host}:{port}/{database}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``: safe to show and to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostinfo}").geturl()


def validate_external_url(url: str) -> str:
    """An attachable URL: ``scheme://`` and a host (``s3://bucket``, ``smtp://…``); else an error."""
    text = url.strip()
    parts = urlsplit(text)
    if not _SCHEME.fullmatch(parts.scheme) or not parts.netloc or "\n" in text:
        # The text is not echoed: a malformed URL may still carry a password.
        raise UsageError(
            "what was given to attach is not a URL",
            "give SCHEME://[USER:PASSWORD@]HOST[:PORT][/PATH], e.g. smtp://mail.example.com:587",
        )
    return text


def var_for_url(url: str, given: str | None) -> str:
    """The variable an attached URL sets: ``--as``, else one named after its scheme."""
    if given:
        return config_var("url", given)
    scheme = urlsplit(url).scheme
    var = _SCHEME_VARS.get(scheme)
    if var is None:
        raise UsageError(
            f"twelve cannot guess a variable for a {scheme}:// URL", "name it with --as NAME"
        )
    return var


def rollback_addon_changes(
    addon_vars: set[str], current: Mapping[str, str], target: Mapping[str, str]
) -> list[str]:
    """The add-on variables whose values differ between the live config and a rollback target."""
    return sorted(k for k in addon_vars if current.get(k) != target.get(k))


def rollback_notice(changed: list[str], version: int) -> str | None:
    """What the rollback output says when add-on variables differ; None when none do."""
    if not changed:
        return None
    return (
        f"rollback restores v{version}'s config ({', '.join(changed)}) but not add-ons: "
        "see 'twelve addons' for what is attached now"
    )
