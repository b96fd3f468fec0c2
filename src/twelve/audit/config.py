"""``[tool.twelve.check]`` settings from ``pyproject.toml`` or ``.twelve.toml`` (pure)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twelve.audit.findings import Severity
from twelve.audit.ruledocs import RULES
from twelve.errors import UsageError

_KEYS = frozenset({"enable", "disable", "severity", "exclude", "fail-on"})


@dataclass(frozen=True)
class CheckConfig:
    """Which rules run, their severities, what is not read, and the default failure threshold."""

    enable: frozenset[str] | None = None
    disable: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    fail_on: Severity | None = None
    source: str = ""

    def active(self, rule: str) -> bool:
        if rule in self.disable:
            return False
        return self.enable is None or rule in self.enable or rule.startswith("check.")


def load_config(files: Mapping[str, str]) -> CheckConfig:
    """Read the settings; ``.twelve.toml`` wins over ``pyproject.toml``.

    ``.twelve.toml`` may hold the table as ``[tool.twelve.check]`` or ``[check]``. Unknown keys,
    rule ids and severities are a UsageError naming the file.
    """
    for name in (".twelve.toml", "pyproject.toml"):
        text = files.get(name)
        if text is None:
            continue
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{name}: not valid TOML: {exc}") from None
        table = data.get("tool", {}).get("twelve", {}).get("check")
        if table is None and name == ".twelve.toml":
            table = data.get("check")
        if table is not None:
            return _parse_table(table, name)
    return CheckConfig()


def _parse_table(table: Any, name: str) -> CheckConfig:
    where = f"{name} [tool.twelve.check]"
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown key {unknown[0]!r}", f"known keys: {', '.join(sorted(_KEYS))}"
        )
    enable = _rule_list(table, "enable", where) if "enable" in table else None
    severity_table = table.get("severity", {})
    if not isinstance(severity_table, dict):
        raise UsageError(f'{where}: severity must be a table of rule = "level"')
    severity = {
        _rule_id(rule, f"{where} severity"): Severity.parse(str(level), f"{where} severity.{rule}")
        for rule, level in severity_table.items()
    }
    fail_on = table.get("fail-on")
    return CheckConfig(
        enable=frozenset(enable) if enable is not None else None,
        disable=frozenset(_rule_list(table, "disable", where)),
        severity=severity,
        exclude=tuple(_str_list(table, "exclude", where)),
        fail_on=Severity.parse(str(fail_on), f"{where} fail-on") if fail_on is not None else None,
        source=name,
    )


def _str_list(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: {key} must be a list of strings")
    return list(value)


def _rule_list(table: dict[str, Any], key: str, where: str) -> list[str]:
    return [_rule_id(rule, f"{where} {key}") for rule in _str_list(table, key, where)]


def _rule_id(rule: str, where: str) -> str:
    if rule not in RULES:
        raise UsageError(f"{where}: unknown rule {rule!r}", "see 'twelve check --list-rules'")
    return rule
