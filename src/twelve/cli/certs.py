"""``certs``, ``certs:add``, ``certs:remove``: the TLS certificate the router serves for an app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option
from twelve.errors import UsageError

_PEM_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def read_pem(path: Path, what: str) -> str:
    """The text of a PEM file, or a one-line error naming the file."""
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a PEM {what} file", "PEM files are text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if "-----BEGIN " not in text:
        raise UsageError(
            f"{path} is not a PEM {what} file", "give the certificate first, then the key"
        )
    return text


@click.command("certs")
@app_option
@json_option
def certs(app: str, as_json: bool) -> None:
    """Show the certificate the router serves for APP over HTTPS."""
    data = client().request("GET", f"/apps/{app}/certs")
    empty = f"{app} has no certificate (add one with twelve certs:add -a {app} CERT KEY)"
    output.emit_rows(data, as_json, ("HOSTNAMES", "EXPIRES", "ISSUER"), _cert_row, empty)


def _cert_row(c: dict[str, Any]) -> tuple[str, str, str]:
    expires = c["expires"][:10] + (" (expired)" if c["expired"] else "")
    return ", ".join(c["hostnames"]), expires, c["issuer"]


@click.command("certs:add")
@app_option
@click.argument("cert_file", metavar="CERT", type=_PEM_FILE)
@click.argument("key_file", metavar="KEY", type=_PEM_FILE)
def certs_add(app: str, cert_file: Path, key_file: Path) -> None:
    """Serve APP over HTTPS with the PEM certificate (chain) CERT and its private key KEY."""
    body = {
        "certificate": read_pem(cert_file, "certificate"),
        "private_key": read_pem(key_file, "private key"),
    }
    data = client().request("POST", f"/apps/{app}/certs", json=body)
    names = ", ".join(data["hostnames"])
    output.emit(f"Added a certificate for {names} to {app} (expires {data['expires'][:10]})")
    if not data["serves"]:
        output.emit(
            f"It covers none of {app}'s hostnames; route one of its names to {app} with "
            f"twelve domains:add -a {app} HOSTNAME"
        )


@click.command("certs:remove")
@app_option
def certs_remove(app: str) -> None:
    """Stop serving APP's certificate (HTTPS falls back to the router's default one)."""
    client().request("DELETE", f"/apps/{app}/certs")
    output.emit(f"Removed the certificate of {app}")


commands = [certs, certs_add, certs_remove]
