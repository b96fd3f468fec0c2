"""The web process: a small notes service, stateless between requests.

VI. Processes: nothing is kept in memory between requests; a session lives in Redis, so any web
process recognises a user who logged in through another one (no sticky sessions).
VII. Port binding: uvicorn serves this app on $PORT (see the Procfile).
IV. Backing services: Postgres and Redis are found through DATABASE_URL and REDIS_URL only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import jobs
import psycopg
import redis.asyncio as aioredis
from redis import Redis
from settings import Settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SESSION_COOKIE = "sid"
SESSION_SECONDS = 24 * 3600
settings = Settings.from_environ()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"{salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)


async def body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {}


async def current_user(request: Request) -> str | None:
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    email = await request.app.state.redis.get(f"session:{sid}")
    return email.decode() if email else None


def reply(data: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse({**data, "dyno": settings.dyno}, status_code=status)


async def index(request: Request) -> Response:
    return reply({"app": "notes", "user": await current_user(request)})


async def health(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def login(request: Request) -> Response:
    """Log in; the first login of an email signs it up and queues a welcome mail."""
    data = await body(request)
    email, password = str(data.get("email", "")).strip().lower(), str(data.get("password", ""))
    if "@" not in email or len(password) < 8:
        return reply({"error": "give an email and a password of 8 characters or more"}, 400)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        cur = await conn.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, %s)"
            " ON CONFLICT (email) DO NOTHING RETURNING email",
            (email, hash_password(password)),
        )
        created = await cur.fetchone() is not None
        if not created:
            cur = await conn.execute("SELECT password_hash FROM users WHERE email = %s", (email,))
            row = await cur.fetchone()
            if row is None or not password_matches(password, row[0]):
                return reply({"error": "wrong email or password"}, 401)
    if created:
        with Redis.from_url(settings.redis_url) as sync_redis:
            job = jobs.enqueue(sync_redis, "welcome", email=email)
        print(f"signed up {email}; welcome mail queued as job {job}", flush=True)
    sid = secrets.token_urlsafe(32)
    await request.app.state.redis.set(f"session:{sid}", email, ex=SESSION_SECONDS)
    response = reply({"user": email, "new": created})
    response.set_cookie(SESSION_COOKIE, sid, max_age=SESSION_SECONDS, httponly=True, samesite="lax")
    return response


async def logout(request: Request) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        await request.app.state.redis.delete(f"session:{sid}")
    response = reply({"user": None})
    response.delete_cookie(SESSION_COOKIE)
    return response


async def notes(request: Request) -> Response:
    email = await current_user(request)
    if email is None:
        return reply({"error": "log in first: POST /login"}, 401)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        if request.method == "POST":
            text = str((await body(request)).get("body", "")).strip()
            if not text:
                return reply({"error": "a note needs a body"}, 400)
            await conn.execute("INSERT INTO notes (email, body) VALUES (%s, %s)", (email, text))
        cur = await conn.execute("SELECT body FROM notes WHERE email = %s ORDER BY id", (email,))
        rows = await cur.fetchall()
    return reply(
        {"user": email, "notes": [r[0] for r in rows]}, 201 if request.method == "POST" else 200
    )


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        yield
    finally:
        await app.state.redis.aclose()


app = Starlette(
    routes=[
        Route("/", index),
        Route("/health", health),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/notes", notes, methods=["GET", "POST"]),
    ],
    lifespan=lifespan,
)
