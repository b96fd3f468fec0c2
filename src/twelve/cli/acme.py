"""``certs:auto``, ``certs:auto:enable``, ``certs:auto:disable``; ``features``,
``features:enable``, ``features:disable``."""

from __future__ import annotations

from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option


def _when(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "-"


def _wait(row: dict[str, Any]) -> str:
    asked = row.get("ca_retry_after")
    return f"; the CA asks to wait until {_when(asked)}" if asked else ""


def _show(app: str, data: dict[str, Any]) -> None:
    if not data["enabled"]:
        output.emit(f"Automatic certificates are off for {app} (twelve certs:auto:enable -a {app})")
        return
    if not data["domains"]:
        output.emit(f"{app} has no custom domain to certify (add one with twelve domains:add)")
    else:
        rows = [
            (
                d["domain"],
                d["state"],
                _when(d["expires"]),
                _when(d["renews"]),
                f"{d['error']} (next try {_when(d['next_try'])}{_wait(d)})" if d["error"] else "-",
            )
            for d in data["domains"]
        ]
        output.emit_table(("DOMAIN", "STATE", "EXPIRES", "RENEWS", "ERROR"), rows)
    if data["skipped"]:
        output.emit(f"Not covered (HTTP-01 cannot prove them): {', '.join(data['skipped'])}")
    if data.get("challenge") == "tls-alpn-01":
        output.emit("The CA validates over TLS-ALPN-01 on the router's TLS port")


@click.command("certs:auto")
@app_option
@json_option
def certs_auto(app: str, as_json: bool) -> None:
    """Show APP's automatic certificate, domain by domain."""
    data = client().request("GET", f"/apps/{app}/certs/auto")
    output.emit_answer(data, as_json, lambda d: _show(app, d))


@click.command("certs:auto:enable")
@app_option
def certs_auto_enable(app: str) -> None:
    """Have the platform order and renew APP's certificate from the ACME CA."""
    data = client().request("POST", f"/apps/{app}/certs/auto")
    output.emit(f"Automatic certificates enabled for {app} ({data['directory']})")
    output.emit(f"Follow it with twelve certs:auto -a {app}, or in twelve logs -a {app}")


@click.command("certs:auto:disable")
@app_option
def certs_auto_disable(app: str) -> None:
    """Stop ordering and renewing APP's certificate (the current one stays until removed)."""
    client().request("DELETE", f"/apps/{app}/certs/auto")
    output.emit(f"Automatic certificates disabled for {app}")


@click.command("features")
@app_option
@json_option
def features(app: str, as_json: bool) -> None:
    """List APP's features and whether each is on."""
    data = client().request("GET", f"/apps/{app}/features")
    output.emit_rows(data, as_json, ("FEATURE", "STATE", "WHAT"), _feature_row)


def _feature_row(f: dict[str, Any]) -> tuple[str, str, str]:
    state = "off"
    if f["enabled"]:
        state = "on" + (f" ({f['value']})" if f["value"] not in (None, True) else "")
    return f["name"], state, f["description"]


@click.command("features:enable")
@app_option
@click.argument("name")
@click.option("--max-age", type=int, help="hsts: seconds browsers keep to HTTPS (one year).")
def features_enable(app: str, name: str, max_age: int | None) -> None:
    """Turn feature NAME on for APP (https-redirect, hsts, log-runtime-metrics)."""
    body = {"max_age": max_age} if max_age is not None else None
    client().request("POST", f"/apps/{app}/features/{name}", json=body)
    output.emit(f"Enabled {name} for {app}")


@click.command("features:disable")
@app_option
@click.argument("name")
def features_disable(app: str, name: str) -> None:
    """Turn feature NAME off for APP."""
    client().request("DELETE", f"/apps/{app}/features/{name}")
    output.emit(f"Disabled {name} for {app}")


commands = [
    certs_auto,
    certs_auto_enable,
    certs_auto_disable,
    features,
    features_enable,
    features_disable,
]
