"""One row mapping for every repository: renamed columns, JSON, secrets, flags and defaults."""

import sqlite3
from dataclasses import dataclass, field

import pytest

from twelve.store.rows import RowMapping
from twelve.store.secrets import Cipher


@dataclass(frozen=True)
class Thing:
    name: str
    commit: str | None
    attached: bool
    url: str
    resource: dict[str, int]
    extra: list[str] = field(default_factory=list)


THING = RowMapping(
    Thing,
    columns={"commit": "commit_sha"},
    json=frozenset({"resource"}),
    secret=frozenset({"url"}),
    flags=frozenset({"attached"}),
)


def row(**values: object) -> sqlite3.Row:
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    names = ", ".join(f"? AS {k}" for k in values)
    found: sqlite3.Row = db.execute(f"SELECT {names}", tuple(values.values())).fetchone()
    return found


def test_a_row_becomes_the_record_its_columns_name() -> None:
    cipher = Cipher("a key")
    read = THING.read(
        row(
            name="db",
            commit_sha="abc",
            attached=1,
            url=cipher.encrypt("postgres://u:p@h/db"),
            resource='{"port": 5432}',
            unrelated="ignored",
        ),
        cipher,
    )
    assert read == Thing("db", "abc", True, "postgres://u:p@h/db", {"port": 5432}, [])


def test_an_empty_secret_stays_empty_and_a_missing_field_without_default_is_an_error() -> None:
    read = THING.read(
        row(name="gone", commit_sha=None, attached=0, url="", resource="{}"), Cipher("a key")
    )
    assert read == Thing("gone", None, False, "", {})
    with pytest.raises(TypeError):
        THING.read(row(name="half"), Cipher("a key"))
