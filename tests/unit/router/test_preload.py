"""The environment the router starts itself again with so that preloaded libraries load first."""

from __future__ import annotations

from twelve.router.preload import environ_with


def test_libraries_not_yet_preloaded_go_first_and_the_rest_of_the_environment_stays():
    environ = {"PATH": "/usr/bin", "LD_PRELOAD": "/lib/libc_hook.so"}
    again = environ_with(("/lib/libasan.so.8",), environ)
    assert again == {"PATH": "/usr/bin", "LD_PRELOAD": "/lib/libasan.so.8 /lib/libc_hook.so"}


def test_nothing_is_done_when_every_library_is_preloaded_already():
    """The second start finds them there: it must not start itself again, forever."""
    environ = {"LD_PRELOAD": "/lib/a.so:/lib/libasan.so.8"}
    assert environ_with(("/lib/libasan.so.8", "/lib/a.so"), environ) is None
    assert environ_with((), {}) is None


def test_only_the_missing_ones_are_added():
    again = environ_with(("/lib/a.so", "/lib/b.so"), {"LD_PRELOAD": "/lib/b.so"})
    assert again == {"LD_PRELOAD": "/lib/a.so /lib/b.so"}
