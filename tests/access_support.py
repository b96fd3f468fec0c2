"""Test helpers: the API in process on a real store in a temporary home, with a user of every role
on one app and a clock the test moves."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from twelve.access.roles import Role, parse_role
from twelve.api.app import create_app
from twelve.api.context import Platform
from twelve.compose import compose
from twelve.settings import Settings
from twelve.store.users import UserStore

ADMIN_TOKEN = "access-platform-token"
APP = "ac-shop"
# name -> (platform admin?, role on APP or None)
PEOPLE: dict[str, tuple[bool, str | None]] = {
    "viewer": (False, "viewer"),
    "deployer": (False, "deployer"),
    "owner": (False, "admin"),
    "outsider": (False, None),
    "operator": (True, None),
}


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    app: Starlette
    clock: Clock
    users: UserStore

    def token(self, who: str, scope: str = "write") -> str:
        """A fresh token of ``who`` (the platform's own token for "admin")."""
        if who == "admin":
            return ADMIN_TOKEN
        token, _ = self.users.create_token(who, "test", scope, None, self.clock())
        return token

    def restore(self) -> None:
        """Bring APP and every role back, whatever an earlier request destroyed or changed."""
        store = self.app.state.platform.store
        if APP not in {a.name for a in store.apps.all()}:
            store.apps.create(APP)
        for name, (_admin, role) in PEOPLE.items():
            held = self.users.role(APP, name)
            if role is None and held is not Role.NONE:
                self.users.revoke_access(APP, name)
            elif role is not None and held.label != role:
                self.users.grant(APP, name, parse_role(role), replace=held is not Role.NONE)


def make_platform(home: Path, **environ: str) -> Platform:
    """The platform on ``home``, built by the function the daemon builds it with."""
    settings = Settings.from_environ(
        {"TWELVE_HOME": str(home), "TWELVE_BOOT_TIMEOUT": "5", "TWELVE_STOP_TIMEOUT": "1"} | environ
    )
    return compose(settings, ADMIN_TOKEN, path="").platform


def make_access_api(home: Path, **environ: str) -> Api:
    platform = make_platform(home, **environ)
    clock = Clock()
    app = create_app(platform, clock)
    api = Api(app, clock, app.state.guard.users)
    platform.store.apps.create(APP)
    for name, (admin, _role) in PEOPLE.items():
        api.users.create_user(name, admin, "admin", clock())
    api.restore()
    return api


def call(api: Api, method: str, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
    """One request to the API in process."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await client.request(method, path, headers=headers, **kwargs)

    return asyncio.run(send())
