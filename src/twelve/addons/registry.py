"""Choosing a provider for each service from settings, as a registry of named candidates.

In order: the server the operator points twelve at (TWELVE_POSTGRES_ADMIN_URL,
TWELVE_REDIS_ADMIN_URL); else a server twelve runs itself from the machine's binaries or from the
``twelve[services]`` extra; else none, which is a clear error naming both ways to get one.
"""

from __future__ import annotations

from dataclasses import dataclass

from twelve.addons.dedicated import DedicatedRedisProvider
from twelve.addons.naming import service_kind
from twelve.addons.postgres import PostgresProvider
from twelve.addons.provider import Provider
from twelve.addons.redis import RedisProvider
from twelve.addons.services import ServiceRunner
from twelve.errors import ServiceError
from twelve.settings import Settings

_ADMIN_VARS = {"postgres": "TWELVE_POSTGRES_ADMIN_URL", "redis": "TWELVE_REDIS_ADMIN_URL"}
_LABELS = {"postgres": "PostgreSQL", "redis": "Redis"}
_PACKAGES = {"postgres": "postgresql", "redis": "redis-server"}


@dataclass(frozen=True)
class Choice:
    """Which provider serves a service, as data: ``admin`` (an admin URL), ``twelve`` or ``none``."""

    kind: str
    provider: str
    origin: str


def choose(kind: str, admin_url: str | None, has_binaries: bool) -> Choice:
    """The provider for ``kind``, first that applies. Pure."""
    if admin_url:
        return Choice(kind, "admin", _ADMIN_VARS[kind])
    if has_binaries:
        return Choice(kind, "twelve", f"the {_LABELS[kind]} twelve runs")
    return Choice(kind, "none", "")


class Registry:
    """Builds the provider for a service on demand (a server twelve runs starts on first use)."""

    def __init__(self, settings: Settings, runner: ServiceRunner) -> None:
        self._admin_urls = {
            "postgres": settings.postgres_admin_url,
            "redis": settings.redis_admin_url,
        }
        self.runner = runner
        self._redis_maxmemory = settings.redis_maxmemory

    def choice(self, kind: str) -> Choice:
        kind = service_kind(kind)
        admin = self._admin_urls[kind]
        return choose(kind, admin, admin is None and self.runner.binaries(kind) is not None)

    async def provider(self, kind: str) -> tuple[Choice, Provider]:
        """The chosen provider, ready to use; a ServiceError when the machine offers none."""
        choice = self.choice(kind)
        if choice.provider == "none":
            raise ServiceError(
                f"no {_LABELS[kind]} server is available to twelve",
                f"set {_ADMIN_VARS[kind]}, install {_PACKAGES[kind]}, "
                "or install the extra twelve[services]",
            )
        if kind == "redis" and choice.provider == "twelve":
            return choice, self.dedicated_redis()
        url = self._admin_urls[kind] or await self.runner.admin_url(kind)
        return choice, make_provider(kind, url, choice.origin)

    def dedicated_redis(self) -> Provider:
        """Redis add-ons twelve runs: a server of their own each, as on Heroku."""
        return DedicatedRedisProvider(self.runner.dedicated, self._redis_maxmemory)

    def self_run(self, kind: str, admin_url: str) -> Provider:
        """The provider of the server twelve runs (for add-ons made there before an admin URL)."""
        return make_provider(kind, admin_url, f"the {_LABELS[kind]} twelve runs")


def make_provider(kind: str, admin_url: str, origin: str) -> Provider:
    cls = PostgresProvider if kind == "postgres" else RedisProvider
    return cls(admin_url, origin)
