"""Which runtime version a build gets and from which source: decisions as data."""

import pytest

from twelve.errors import BuildError, UsageError
from twelve.runtimes.catalog import parse_spec
from twelve.runtimes.resolve import choose_node, choose_python

MACHINE = {(3, 12, 1), (3, 11, 7), (3, 13, 0), (3, 10, 13)}


def test_an_installed_runtime_is_used_before_any_copy_or_download() -> None:
    offers = {"installed": {(3, 12, 1)}, "machine": MACHINE}
    pick = choose_python((3, 12, 1), offers)
    assert (pick.version, pick.source, pick.note) == ((3, 12, 1), "installed", None)


def test_a_missing_patch_resolves_to_the_newest_patch_any_source_offers() -> None:
    offers = {"installed": {(3, 12, 1)}, "download": {(3, 12, 7), (3, 12, 3)}, "machine": MACHINE}
    pick = choose_python((3, 12, None), offers)
    assert (pick.version, pick.source) == ((3, 12, 7), "download")
    pick = choose_python((3, 12, None), {"installed": {(3, 12, 1)}, "machine": {(3, 12, 0)}})
    assert (pick.version, pick.source) == ((3, 12, 1), "installed")


def test_a_version_only_the_machine_has_is_copied_from_it() -> None:
    pick = choose_python((3, 10, None), {"installed": set(), "machine": MACHINE})
    assert (pick.version, pick.source) == ((3, 10, 13), "machine")


def test_an_unavailable_patch_falls_back_to_the_newest_of_its_minor_with_a_note() -> None:
    pick = choose_python((3, 11, 99), {"installed": set(), "machine": MACHINE})
    assert pick.version == (3, 11, 7)
    assert pick.note is not None and "3.11.99" in pick.note and "3.11.7" in pick.note


def test_a_minor_nothing_provides_names_the_command_that_would() -> None:
    with pytest.raises(BuildError, match=r"Python 3\.9 is not installed") as info:
        choose_python((3, 9, None), {"installed": set(), "machine": MACHINE})
    assert "twelve runtimes:install python@3.9" in (info.value.hint or "")
    assert "keeps serving" in (info.value.hint or "")
    assert "3.10, 3.11, 3.12, 3.13" in info.value.message


def test_no_request_takes_the_default_else_the_newest() -> None:
    offers = {"installed": set(), "machine": MACHINE}
    assert choose_python(None, offers).version == (3, 13, 0)
    assert choose_python(None, offers, default=(3, 11, None)).version == (3, 11, 7)


def test_node_prefers_an_installed_runtime_then_the_machine_then_the_newest_download() -> None:
    downloads = {(18, 20, 4), (18, 19, 0), (20, 18, 1), (22, 1, 0)}
    installed = {"installed": {(18, 19, 0)}, "download": downloads}
    assert choose_node("18.x", installed, (20, 20, 2)).version == (18, 19, 0)  # type: ignore[union-attr]
    assert choose_node(">=20", {"download": downloads}, (20, 20, 2)) is None
    pick = choose_node("18.x", {"download": downloads}, (20, 20, 2))
    assert pick is not None and (pick.version, pick.source) == ((18, 20, 4), "download")


def test_node_ranges_nothing_satisfies_or_twelve_cannot_read_are_errors() -> None:
    with pytest.raises(BuildError, match=r"no Node\.js release satisfies"):
        choose_node("99.x", {"download": {(20, 1, 0)}}, None)
    with pytest.raises(BuildError, match="not a range twelve understands"):
        choose_node("lts/iron", {"download": {(20, 1, 0)}}, None)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("python@3.12", ("python", (3, 12))),
        ("python@3.12.7", ("python", (3, 12, 7))),
        ("node@20", ("node", (20,))),
    ],
)
def test_runtime_specs(text: str, parsed: tuple[str, tuple[int, ...]]) -> None:
    assert parse_spec(text) == parsed


@pytest.mark.parametrize("text", ["python", "ruby@3", "python@3", "node@x", "python@3.12.1.2"])
def test_bad_runtime_specs_say_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError):
        parse_spec(text)
