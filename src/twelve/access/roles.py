"""Who may call what: per-app roles, token scopes and what each route needs. Pure.

An app's role (viewer < deployer < admin) says what a user may do to that app; a platform admin
holds every app's admin role. A token's scope caps the role it carries: a ``read`` token acts as a
viewer at most, a ``deploy`` token as a deployer at most, a ``write`` token as its user.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from twelve.errors import UsageError


class Role(enum.IntEnum):
    """A user's role on one app, ordered: each one may do what the ones below it may."""

    NONE = 0
    VIEWER = 1
    DEPLOYER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = ("viewer", "deployer", "admin")
SCOPES = ("read", "deploy", "write")
_SCOPE_CAP = {"read": Role.VIEWER, "deploy": Role.DEPLOYER, "write": Role.ADMIN}


def parse_role(text: str) -> Role:
    if text not in ROLE_NAMES:
        raise UsageError(f"{text!r} is not a role", "use viewer, deployer or admin")
    return Role[text.upper()]


def parse_scope(text: str) -> str:
    if text not in SCOPES:
        raise UsageError(f"{text!r} is not a token scope", "use read, deploy or write")
    return text


class Need(enum.Enum):
    """What a route asks of the caller."""

    PUBLIC = "public"  # no token (exchanging an invitation for one)
    SIGNED_IN = "signed in"  # any valid token: who am I, this document
    ACCOUNT = "account"  # changes to one's own tokens: a write token
    VIEWER = "viewer"  # of the route's app
    DEPLOYER = "deployer"
    ADMIN = "admin"
    PLATFORM_READ = "platform admin (read)"  # platform-wide views
    PLATFORM = "platform admin"  # creating apps and users

    @property
    def app_role(self) -> Role | None:
        return {Need.VIEWER: Role.VIEWER, Need.DEPLOYER: Role.DEPLOYER, Need.ADMIN: Role.ADMIN}.get(
            self
        )


@dataclass(frozen=True)
class Principal:
    """The caller of one request, as its token says."""

    name: str
    is_admin: bool
    scope: str  # read | deploy | write
    token_id: str | None = None  # None: the platform's own API token
    expires_at: float | None = None
    push_app: str | None = None  # a push's one-time token: may only deploy this app

    @property
    def cap(self) -> Role:
        return _SCOPE_CAP[self.scope]


def effective_role(principal: Principal, role: Role) -> Role:
    """The role a request acts with: the user's role on the app (admin for platform admins),
    capped by the token's scope."""
    held = Role.ADMIN if principal.is_admin else role
    return min(held, principal.cap)


def refusal(principal: Principal, need: Need, app: str | None, role: Role) -> str | None:
    """Why ``principal`` may not make a request that needs ``need``; None when it may."""
    who = principal.name
    if need in (Need.PUBLIC, Need.SIGNED_IN):
        return None
    if need is Need.ACCOUNT:
        if principal.scope != "write":
            return f"a {principal.scope} token cannot change tokens; use a write token"
        return None
    if need in (Need.PLATFORM, Need.PLATFORM_READ):
        if not principal.is_admin:
            return f"{who} is not a platform admin; only platform admins may do this"
        if need is Need.PLATFORM and principal.scope != "write":
            return f"a {principal.scope} token cannot make platform changes; use a write token"
        return None
    wanted = need.app_role
    assert wanted is not None and app is not None
    have = effective_role(principal, role)
    if have >= wanted:
        return None
    if principal.is_admin or (role >= wanted and principal.cap < wanted):
        return f"a {principal.scope} token acts as a {principal.cap.label} at most; this needs {wanted.label}"
    if role is Role.NONE:
        return f"{who} has no access to app {app}"
    return f"{who} is a {role.label} of {app}; this needs {wanted.label}"
