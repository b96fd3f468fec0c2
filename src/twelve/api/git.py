"""Git's smart HTTP protocol for app repositories, served by ``git http-backend`` as a CGI."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from twelve.api.body import capped_body
from twelve.api.context import platform
from twelve.api.guard import principal_of
from twelve.api.routing import Routes
from twelve.errors import NotFound
from twelve.gitpush import ensure_repo
from twelve.supervisor import spawn

routes = Routes()


MAX_PUSH_BYTES = 1 << 30


async def _read_cgi_headers(stdout: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status = 200
    headers: dict[str, str] = {}
    while True:
        line = (await stdout.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            return status, headers
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[name.strip()] = value.strip()


@routes.on("/git/{repo}/{rest:path}", "GET", "POST")
async def git_http(request: Request) -> Response:
    p = platform(request)
    repo = request.path_params["repo"]
    app = repo.removesuffix(".git")
    rest = request.path_params["rest"]
    if app == repo or ".." in rest.split("/"):
        # A '..' would take git http-backend to another app's repository.
        raise NotFound(f"no repository {repo}", "the remote is http://HOST/git/APP.git")
    p.store.apps.get(app)
    await ensure_repo(p.settings.repos_dir, app)
    body = await capped_body(request, MAX_PUSH_BYTES, "the push")
    push_token = p.push_tokens.issue(app)
    pushers = request.app.state.guard.pushers
    pushers[push_token] = principal_of(request.scope)  # the deploy is made by the pusher
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(p.settings.repos_dir),
        "GIT_PROJECT_ROOT": str(p.settings.repos_dir),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo}/{rest}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "twelve",
        "REMOTE_ADDR": request.client.host if request.client else "",
        "PUSH_DEPLOY_URL": f"{p.api_url}/apps/{app}/deploys",
        "PUSH_DEPLOY_TOKEN": push_token,
    }
    if "content-encoding" in request.headers:
        env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if "git-protocol" in request.headers:
        env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    child = await spawn.start(
        ["git", "http-backend"],
        cwd=p.settings.repos_dir,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        separate_stderr=True,
    )
    proc = child.process
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(body)
    with contextlib.suppress(ConnectionError):
        await proc.stdin.drain()
    proc.stdin.close()
    status, headers = await _read_cgi_headers(proc.stdout)
    stdout = proc.stdout

    async def stream() -> AsyncIterator[bytes]:
        try:
            while chunk := await stdout.read(65536):
                yield chunk
            await proc.wait()
        finally:
            p.push_tokens.revoke(push_token)
            pushers.pop(push_token, None)
            if proc.returncode is None:
                await spawn.stop_group(child.pgid, 5.0, child)

    media = headers.pop("Content-Type", None)
    return StreamingResponse(stream(), status_code=status, headers=headers, media_type=media)
