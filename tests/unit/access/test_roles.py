"""The role table: what each app role and token scope may do, and the one-line reason otherwise."""

from __future__ import annotations

import pytest

from twelve.access.roles import Need, Principal, Role, effective_role, parse_role, refusal
from twelve.errors import UsageError

APP_NEEDS = (Need.VIEWER, Need.DEPLOYER, Need.ADMIN)


def user(scope: str = "write", admin: bool = False) -> Principal:
    return Principal("alice", admin, scope, "t1")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.NONE, set()),
        (Role.VIEWER, {Need.VIEWER}),
        (Role.DEPLOYER, {Need.VIEWER, Need.DEPLOYER}),
        (Role.ADMIN, {Need.VIEWER, Need.DEPLOYER, Need.ADMIN}),
    ],
)
def test_each_role_may_do_what_the_roles_below_it_may(role: Role, allowed: set[Need]) -> None:
    for need in APP_NEEDS:
        reason = refusal(user(), need, "shop", role)
        assert (reason is None) == (need in allowed), (role, need, reason)


def test_a_refusal_names_the_user_their_role_and_what_is_needed() -> None:
    assert refusal(user(), Need.ADMIN, "shop", Role.VIEWER) == (
        "alice is a viewer of shop; this needs admin"
    )
    assert refusal(user(), Need.VIEWER, "shop", Role.NONE) == "alice has no access to app shop"


@pytest.mark.parametrize(("scope", "cap"), [("read", Role.VIEWER), ("deploy", Role.DEPLOYER)])
def test_a_token_scope_caps_the_role_even_of_a_platform_admin(scope: str, cap: Role) -> None:
    for principal in (user(scope), user(scope, admin=True)):
        assert effective_role(principal, Role.ADMIN) == cap
        assert refusal(principal, Need.ADMIN, "shop", Role.ADMIN) is not None
        assert "token acts as a" in str(refusal(principal, Need.ADMIN, "shop", Role.ADMIN))
        assert refusal(principal, Need.VIEWER, "shop", Role.ADMIN) is None


def test_platform_admins_hold_every_app_and_only_they_make_platform_changes() -> None:
    admin = user(admin=True)
    for need in (*APP_NEEDS, Need.PLATFORM, Need.PLATFORM_READ):
        assert refusal(admin, need, "shop", Role.NONE) is None
    assert refusal(user(), Need.PLATFORM, None, Role.NONE) == (
        "alice is not a platform admin; only platform admins may do this"
    )
    assert refusal(user("read", admin=True), Need.PLATFORM_READ, None, Role.NONE) is None
    assert refusal(user("read", admin=True), Need.PLATFORM, None, Role.NONE) is not None


def test_a_read_token_cannot_mint_tokens() -> None:
    assert refusal(user("read"), Need.ACCOUNT, None, Role.NONE) is not None
    assert refusal(user("write"), Need.ACCOUNT, None, Role.NONE) is None
    assert refusal(user("read"), Need.SIGNED_IN, None, Role.NONE) is None


def test_an_unknown_role_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="viewer, deployer or admin"):
        parse_role("owner")
