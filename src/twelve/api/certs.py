"""An app's TLS certificate: served by the router over HTTPS to clients naming the app's hosts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.body import json_body
from twelve.api.context import Platform, existing_app
from twelve.api.routing import Routes
from twelve.certs import CertStore, StoredCert, check_pair, covers
from twelve.errors import NotFound, UsageError

routes = Routes()


def _store(p: Platform) -> CertStore:
    return CertStore(p.settings.certs_dir)


def describe(p: Platform, app: str, stored: StoredCert) -> dict[str, Any]:
    """The API's view of a certificate, with the app hostnames it covers (``serves``)."""
    info = stored.info
    hosts = [f"{app}.{p.settings.domain}", *(h for h, _ in p.store.domains.pairs(app))]
    return {
        "hostnames": list(info.hostnames),
        "serves": [h for h in hosts if any(covers(n, h) for n in info.hostnames)],
        "expires": info.not_after.isoformat(),
        "expired": info.expired(datetime.now(UTC)),
        "issuer": info.issuer,
        "fingerprint": info.fingerprint,
    }


def _pem(body: dict[str, Any], key: str, what: str) -> bytes:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{key} is missing", f"send the {what} as PEM text in {key}")
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        raise UsageError(f"the {what} is not PEM text", f"send the {what} file's PEM") from None


@routes.get("/apps/{app}/certs")
async def list_certs(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    stored = _store(p).get(app)
    return JSONResponse([] if stored is None else [describe(p, app, stored)])


@routes.post("/apps/{app}/certs")
async def add_cert(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    body = await json_body(request)
    cert_pem = _pem(body, "certificate", "certificate")
    key_pem = _pem(body, "private_key", "private key")
    cert_pem, key_pem, info = check_pair(cert_pem, key_pem, datetime.now(UTC))
    stored = _store(p).save(app, cert_pem, key_pem)
    p.supervisor.routes_changed()
    p.event(
        app,
        "api",
        f"Certificate for {', '.join(info.hostnames)} added (expires {info.not_after:%Y-%m-%d})",
    )
    p.notify(
        app,
        "cert",
        "create",
        {"hostnames": list(info.hostnames), "expires_at": info.not_after.isoformat()},
    )
    return JSONResponse(describe(p, app, stored), status_code=201)


@routes.delete("/apps/{app}/certs")
async def remove_cert(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    if not _store(p).remove(app):
        raise NotFound(f"{app} has no certificate", "add one with twelve certs:add -a APP CERT KEY")
    p.supervisor.routes_changed()
    p.event(app, "api", "Certificate removed; HTTPS shows the router's default certificate")
    p.notify(app, "cert", "destroy", {})
    if p.acme is not None and p.acme.files.state(app).enabled:
        p.event(app, "acme", "automatic certificates are on: a new one is ordered now")
    return JSONResponse({"removed": True})
