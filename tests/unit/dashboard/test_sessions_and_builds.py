"""Dashboard sessions expire on their clock and are dropped with their token; build output is
split per build and its check findings picked out. Pure."""

from __future__ import annotations

from twelve.dashboard.forms import check_section, split_builds
from twelve.dashboard.sessions import LIFETIME, Sessions, same


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_its_lifetime_and_no_longer():
    clock = Clock()
    sessions = Sessions(clock)
    session = sessions.create("token-1", "ada")
    assert sessions.get(session.id) == session
    assert session.csrf != session.id and session.token not in (session.id, session.csrf)
    clock.now += LIFETIME - 1
    assert sessions.get(session.id) is not None
    clock.now += 1
    assert sessions.get(session.id) is None
    assert sessions.get(None) is None and sessions.get("") is None


def test_sessions_of_a_refused_token_are_all_dropped():
    sessions = Sessions(Clock())
    one, two = sessions.create("old", "ada"), sessions.create("old", "ada")
    other = sessions.create("new", "bob")
    sessions.drop_token("old")
    assert sessions.get(one.id) is None and sessions.get(two.id) is None
    assert sessions.get(other.id) == other


def test_csrf_tokens_compare_whole():
    assert same("abc", "abc")
    assert not same("abc", "abd") and not same("abc", "") and not same("abc", None)


def test_build_output_is_split_per_build_and_the_check_picked_out():
    lines = [
        "Build 1 started from tarball",
        "-----> Checking the app against the twelve factors",
        "       warning F3: a secret in the code",
        "       1 finding",
        "-----> Process types: web",
        "Build 2 started from tarball",
        "Build 2 failed: no Procfile",
    ]
    builds = split_builds(["an older line", *lines])
    assert sorted(builds) == [1, 2]
    assert builds[2] == ["Build 2 started from tarball", "Build 2 failed: no Procfile"]
    assert check_section(builds[1]) == ["warning F3: a secret in the code", "1 finding"]
