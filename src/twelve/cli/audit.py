"""``audit`` (who changed what, when, from where, with which result) and ``audit:verify``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import client, json_option
from twelve.errors import TwelveError


def _details(entry: dict[str, Any]) -> str:
    details = entry.get("details") or {}
    return " ".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in details.items()
    )


@click.command("audit")
@click.option("-a", "--app", "app", help="Only this app (platform-wide without it: admins).")
@click.option("-n", "--num", default=100, show_default=True, help="How many entries.")
@json_option
def audit(app: str | None, num: int, as_json: bool) -> None:
    """List changes: who made them, when, from which address, and the result."""
    path = f"/apps/{app}/audit" if app else "/audit"
    data = client().request("GET", path, params={"n": str(num)})
    headers = ("#", "WHEN (UTC)", "WHO", "FROM", "APP", "ACTION", "DETAILS", "RESULT")
    output.emit_rows(data, as_json, headers, _entry_row)


def _entry_row(e: dict[str, Any]) -> tuple[Any, ...]:
    return (
        e["seq"],
        datetime.fromtimestamp(e["at"], UTC).strftime("%Y-%m-%d %H:%M:%S"),
        e["actor"],
        e["address"],
        e["app"] or "-",
        e["action"],
        _details(e),
        e["result"],
    )


class AuditBroken(TwelveError):
    code = "audit_broken"


@click.command("audit:verify")
@json_option
def audit_verify(as_json: bool) -> None:
    """Recompute the audit trail's hash chain; name the first entry that does not match."""
    data = client().request("GET", "/audit/verify")
    if as_json:
        output.emit_json(data)
    if data["intact"]:
        if not as_json:
            output.emit(f"The audit trail is intact: {data['entries']} entries verified")
        return
    raise AuditBroken(
        f"audit entry {data['first_broken']} does not match: {data['reason']}",
        "the database was changed behind twelve's back; compare with the audit drain's copy",
    )


commands = [audit, audit_verify]
