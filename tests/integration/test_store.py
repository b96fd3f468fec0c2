"""The store on a real SQLite file: releases are append-only and survive reopening."""

from pathlib import Path

import pytest

from twelve.errors import Conflict, NotFound
from twelve.store import ProcessRecord, Store


def test_apps_releases_config_and_formation_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "twelve.db"
    store = Store(path)
    store.apps.create("hello")
    build = store.builds.create("hello", "upload")
    store.builds.finish(
        build.id, status="succeeded", commit="abc1234def", slug_dir="/s", procfile={"web": "x"}
    )
    store.releases.add("hello", 1, build.id, {"A": "1"}, {"web": "x"}, "Deploy abc1234")
    store.formation.set("hello", {"web": 2, "worker": 0})
    store.close()

    again = Store(path)
    release = again.releases.current("hello")
    assert release is not None and release.label == "v1"
    assert release.commit == "abc1234def" and release.slug_dir == "/s"
    assert again.config.get("hello") == {"A": "1"}
    assert again.formation.get("hello") == {"web": 2, "worker": 0}
    again.close()


def test_releases_are_numbered_in_order_and_never_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.apps.create("hello")
    store.releases.add("hello", 1, None, {}, {}, "first")
    with pytest.raises(Conflict):
        store.releases.add("hello", 1, None, {}, {}, "again")
    with pytest.raises(Conflict):
        store.releases.add("hello", 3, None, {}, {}, "skipped")
    assert store.releases.next_version("hello") == 2
    store.close()


def test_names_are_unique_and_missing_things_say_what_to_do(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.apps.create("hello")
    with pytest.raises(Conflict, match="already exists"):
        store.apps.create("hello")
    with pytest.raises(NotFound, match="twelve apps"):
        store.apps.get("nope")
    store.domains.add("hello", "www.example.com")
    store.apps.create("other")
    with pytest.raises(Conflict):
        store.domains.add("other", "www.example.com")
    store.close()


def test_destroying_an_app_removes_its_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.apps.create("hello")
    store.processes.record(ProcessRecord("hello", "web.1", 10, 10, 5, 5000, 1, None))
    store.releases.add("hello", 1, None, {"A": "1"}, {}, "x")
    store.apps.delete("hello")
    assert store.processes.all() == []
    store.apps.create("hello")
    assert store.releases.current("hello") is None and store.config.get("hello") == {}
    store.close()
