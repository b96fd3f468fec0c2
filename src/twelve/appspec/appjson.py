"""app.json, Heroku's schema: config defaults, generated secrets, required vars, formation, scripts.

Unknown keys are ignored, as Heroku does; a malformed file is an error naming the key.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from twelve.appspec.cron import Job, parse_jobs
from twelve.appspec.formation import MAX_QUANTITY
from twelve.appspec.names import validate_config_key, validate_process_type
from twelve.errors import SpecError, UsageError

FILENAME = "app.json"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    generator: str | None = None  # "secret"
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class HealthCheck:
    path: str
    initial_delay: float = 0.0
    timeout: float = 5.0
    attempts: int = 60


@dataclass(frozen=True)
class AppJson:
    env: tuple[EnvVar, ...] = ()
    formation: dict[str, int] = field(default_factory=dict)
    postdeploy: str | None = None
    healthchecks: dict[str, tuple[HealthCheck, ...]] = field(default_factory=dict)
    cron: tuple[Job, ...] = ()


def _fail(key: str, problem: str) -> SpecError:
    return SpecError(f"{FILENAME}: {key} {problem}", "see Heroku's app.json schema")


def _text(key: str, value: str) -> str:
    """``value`` if a process environment can hold it (no NUL, no lone surrogate)."""
    if "\x00" in value or not _encodes(value):
        raise _fail(key, "holds a character no environment variable can")
    return value


def _encodes(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _number(key: str, value: Any, cast: type[float] | type[int]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise _fail(key, "must be a number from 0 to 86400")
    return cast(value)


def _env(raw: Any) -> tuple[EnvVar, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _fail("env", "must be an object of NAME: value or NAME: {...}")
    result = []
    for name, spec in raw.items():
        try:
            validate_config_key(name)
        except UsageError:
            raise _fail(f"env.{name}", "is not a valid variable name") from None
        if isinstance(spec, str):
            result.append(EnvVar(name, value=_text(f"env.{name}", spec)))
            continue
        if not isinstance(spec, dict):
            raise _fail(f"env.{name}", "must be a string or an object")
        value = spec.get("value")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise _fail(f"env.{name}.value", "must be a string")
        generator = spec.get("generator")
        if generator not in (None, "secret"):
            raise _fail(f"env.{name}.generator", 'must be "secret"')
        required = spec.get("required", True)
        if not isinstance(required, bool):
            raise _fail(f"env.{name}.required", "must be true or false")
        result.append(
            EnvVar(
                name,
                value=None if value is None else _text(f"env.{name}.value", str(value)),
                generator=generator,
                required=required,
                description=str(spec.get("description", "")),
            )
        )
    return tuple(result)


def _formation(raw: Any) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail("formation", "must be an object of type: {quantity: N}")
    result = {}
    for kind, spec in raw.items():
        try:
            validate_process_type(kind)
        except UsageError:
            raise _fail(f"formation.{kind}", "is not a valid process type") from None
        quantity = spec.get("quantity", 1) if isinstance(spec, dict) else None
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise _fail(f"formation.{kind}.quantity", "must be a whole number")
        if not 0 <= quantity <= MAX_QUANTITY:
            raise _fail(f"formation.{kind}.quantity", f"must be from 0 to {MAX_QUANTITY}")
        result[kind] = quantity
    return result


def _postdeploy(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail("scripts", "must be an object")
    script = raw.get("postdeploy")
    if isinstance(script, dict):
        script = script.get("command")
    if script is not None and not isinstance(script, str):
        raise _fail("scripts.postdeploy", "must be a command string")
    return script or None


def _healthchecks(raw: Any) -> dict[str, tuple[HealthCheck, ...]]:
    """Dokku's shape: ``{"healthchecks": {"web": [{"type": "startup", "path": "/health"}]}}``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail("healthchecks", "must be an object of process type: [checks]")
    result: dict[str, tuple[HealthCheck, ...]] = {}
    for kind, checks in raw.items():
        if not isinstance(checks, list):
            raise _fail(f"healthchecks.{kind}", "must be a list")
        parsed = []
        for index, check in enumerate(checks):
            where = f"healthchecks.{kind}[{index}]"
            if not isinstance(check, dict):
                raise _fail(where, "must be an object")
            path = check.get("path")
            if path is None:
                continue  # an uptime or command check: the port check covers it
            if not isinstance(path, str) or not path.startswith("/"):
                raise _fail(f"{where}.path", "must start with /")
            parsed.append(
                HealthCheck(
                    path,
                    _number(f"{where}.initialDelay", check.get("initialDelay", 0), float),
                    _number(f"{where}.timeout", check.get("timeout", 5), float),
                    int(_number(f"{where}.attempts", check.get("attempts", 60), int)),
                )
            )
        result[kind] = tuple(parsed)
    return result


def parse_app_json(text: str) -> AppJson:
    """Parse app.json text."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"{FILENAME} is not valid JSON: {exc}") from None
    except RecursionError:
        raise SpecError(f"{FILENAME} is nested too deeply to be an app.json") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{FILENAME} must hold a JSON object")
    return AppJson(
        env=_env(raw.get("env")),
        formation=_formation(raw.get("formation")),
        postdeploy=_postdeploy(raw.get("scripts")),
        healthchecks=_healthchecks(raw.get("healthchecks")),
        cron=parse_jobs(raw.get("cron"), text, FILENAME),
    )


def initial_config(spec: AppJson, current: dict[str, str]) -> dict[str, str]:
    """The config of a first deploy: current values kept, defaults and generated secrets added.

    Raises UsageError listing every required variable that has neither a value nor a default.
    """
    config = dict(current)
    missing = []
    for var in spec.env:
        if var.name in config:
            continue
        if var.generator == "secret":
            config[var.name] = secrets.token_hex(32)
        elif var.value is not None:
            config[var.name] = var.value
        elif var.required:
            missing.append(var.name)
    if missing:
        raise UsageError(
            f"app.json requires config that is not set: {', '.join(missing)}",
            f"set it first: twelve config:set {' '.join(m + '=...' for m in missing)}",
        )
    return config
