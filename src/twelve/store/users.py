"""Users, their tokens (as hashes), one-time invitations and per-app roles, in the store's file."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from twelve.access.roles import Role, parse_role
from twelve.access.tokens import (
    INVITATION_LIFETIME,
    digest,
    is_live,
    new_invitation,
    new_token,
    new_token_id,
)
from twelve.errors import AuthError, Conflict, NotFound, UsageError
from twelve.store.database import Repository

PLATFORM_ADMIN = "admin"  # the user the platform's own API token acts as
_USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,39}$")


def validate_user_name(name: str) -> str:
    if not _USER_NAME.fullmatch(name):
        raise UsageError(
            f"invalid user name {name!r}",
            "use up to 40 lowercase letters, digits, dots, dashes or underscores, starting with a letter",
        )
    return name


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool
    created_at: float
    created_by: str


@dataclass(frozen=True)
class Token:
    """A token's record: never the token itself."""

    id: str
    user: str
    description: str
    scope: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None


class UserStore(Repository):
    # Users
    def ensure_platform_admin(self, now: float) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO users VALUES (?, 1, ?, ?)", (PLATFORM_ADMIN, now, "twelve")
        )

    def create_user(self, name: str, is_admin: bool, by: str, now: float) -> tuple[User, str]:
        """A new user and the invitation code they log in with (valid 24 hours, once)."""
        validate_user_name(name)
        code = new_invitation()
        with self._db.transaction() as db:
            try:
                db.execute("INSERT INTO users VALUES (?, ?, ?, ?)", (name, int(is_admin), now, by))
            except sqlite3.IntegrityError:
                raise Conflict(f"user {name!r} already exists", "choose another name") from None
            db.execute(
                "INSERT INTO invitations VALUES (?, ?, ?, NULL)",
                (digest(code), name, now + INVITATION_LIFETIME),
            )
        return self.get_user(name), code

    def get_user(self, name: str) -> User:
        row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no user named {name!r}", "see 'twelve users'")
        return User(row["name"], bool(row["is_admin"]), row["created_at"], row["created_by"])

    def list_users(self) -> list[User]:
        rows = self._db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [
            User(r["name"], bool(r["is_admin"]), r["created_at"], r["created_by"]) for r in rows
        ]

    # Invitations and tokens
    def redeem(self, code: str, now: float) -> tuple[User, str]:
        """Exchange a live invitation for a new write token; the invitation is then spent."""
        with self._db.transaction() as db:
            row = db.execute(
                "SELECT * FROM invitations WHERE code_hash = ?", (digest(code),)
            ).fetchone()
            if row is None or not is_live(row["expires_at"], row["used_at"], now):
                raise AuthError(
                    "the invitation code is wrong, used or expired",
                    "ask a platform admin for a new one (twelve users:invite NAME)",
                )
            db.execute(
                "UPDATE invitations SET used_at = ? WHERE code_hash = ?", (now, row["code_hash"])
            )
        token, _ = self.create_token(row["user"], "login", "write", None, now)
        return self.get_user(row["user"]), token

    def invite(self, name: str, now: float) -> str:
        """A new invitation for an existing user (a lost token, a new machine)."""
        self.get_user(name)
        code = new_invitation()
        self._db.execute(
            "INSERT INTO invitations VALUES (?, ?, ?, NULL)",
            (digest(code), name, now + INVITATION_LIFETIME),
        )
        return code

    def create_token(
        self, user: str, description: str, scope: str, expires_at: float | None, now: float
    ) -> tuple[str, Token]:
        token, token_id = new_token(), new_token_id()
        self._db.execute(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (token_id, digest(token), user, description, scope, now, expires_at),
        )
        return token, self.get_token(token_id)

    def get_token(self, token_id: str) -> Token:
        row = self._db.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            raise NotFound(f"no token {token_id!r}", "see 'twelve auth:tokens'")
        return _token(row)

    def token_for(self, token: str) -> tuple[User, Token] | None:
        """The user and record of a presented token, if it is one (live or not)."""
        row = self._db.execute("SELECT * FROM tokens WHERE hash = ?", (digest(token),)).fetchone()
        if row is None:
            return None
        return self.get_user(row["user"]), _token(row)

    def list_tokens(self, user: str) -> list[Token]:
        rows = self._db.connection.execute(
            "SELECT * FROM tokens WHERE user = ? ORDER BY created_at", (user,)
        ).fetchall()
        return [_token(r) for r in rows]

    def revoke_token(self, user: str, token_id: str, now: float) -> Token:
        cur = self._db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND user = ? AND revoked_at IS NULL",
            (now, token_id, user),
        )
        if cur.rowcount == 0:
            raise NotFound(f"{user} has no live token {token_id!r}", "see 'twelve auth:tokens'")
        return self.get_token(token_id)

    # Per-app roles
    def role(self, app: str, user: str) -> Role:
        row = self._db.connection.execute(
            "SELECT role FROM app_access WHERE app = ? AND user = ?", (app, user)
        ).fetchone()
        return Role.NONE if row is None else parse_role(row["role"])

    def access(self, app: str) -> list[tuple[str, Role]]:
        rows = self._db.connection.execute(
            "SELECT user, role FROM app_access WHERE app = ? ORDER BY user", (app,)
        ).fetchall()
        return [(r["user"], parse_role(r["role"])) for r in rows]

    def apps_of(self, user: str) -> set[str]:
        rows = self._db.execute("SELECT app FROM app_access WHERE user = ?", (user,))
        return {r["app"] for r in rows.fetchall()}

    def grant(self, app: str, user: str, role: Role, *, replace: bool) -> None:
        self.get_user(user)
        exists = self.role(app, user) is not Role.NONE
        if exists and not replace:
            raise Conflict(f"{user} already has access to {app}", "use access:update")
        if not exists and replace:
            raise NotFound(f"{user} has no access to {app}", "use access:add")
        self._db.execute(
            "INSERT OR REPLACE INTO app_access VALUES (?, ?, ?)", (app, user, role.label)
        )

    def revoke_access(self, app: str, user: str) -> None:
        cur = self._db.execute("DELETE FROM app_access WHERE app = ? AND user = ?", (app, user))
        if cur.rowcount == 0:
            raise NotFound(f"{user} has no access to {app}", "see 'twelve access'")

    def forget_app(self, app: str) -> None:
        """A destroyed app's roles go with it, so a new app of that name starts with none."""
        self._db.execute("DELETE FROM app_access WHERE app = ?", (app,))


def _token(row: sqlite3.Row) -> Token:
    return Token(
        row["id"],
        row["user"],
        row["description"],
        row["scope"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
    )
