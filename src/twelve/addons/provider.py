"""What every add-on provider offers, and the values they hand back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from twelve.addons.naming import server_id


@dataclass(frozen=True)
class Provisioned:
    """A fresh resource: the URL an app gets (it holds a credential) and what removing it needs."""

    url: str
    resource: dict[str, Any]


class Provider(Protocol):
    """Makes and removes databases (or key spaces) on one server, through its admin URL."""

    service: str  # "postgres" | "redis"
    server: str  # host:port, never a credential
    origin: str  # where the server comes from, for messages

    async def provision(self, addon: str, existing: list[dict[str, Any]]) -> Provisioned:
        """Create the resource of ``addon``; nothing is left behind when this raises.

        ``existing`` holds the resources twelve already made on this server.
        """
        ...

    async def deprovision(self, resource: dict[str, Any]) -> None:
        """Remove a resource and its data; a resource already gone is not an error."""
        ...


class AdminUrlProvider:
    """The part every provider on a server it does not run shares: the server's admin URL."""

    def __init__(self, admin_url: str, origin: str) -> None:
        self._admin_url = admin_url
        self.server = server_id(admin_url)
        self.origin = origin

    @property
    def admin_url(self) -> str:
        """The admin URL (a credential: for twelve's own connections and client programs)."""
        return self._admin_url


def first_line(exc: BaseException) -> str:
    """A driver's error as one line (they are multi-line and never carry the password)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
