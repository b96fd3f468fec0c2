"""The store on a real SQLite file: releases are append-only and survive reopening."""

from pathlib import Path

import pytest

from twelve.errors import Conflict, NotFound
from twelve.store import ProcessRecord, Store


def test_apps_releases_config_and_formation_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "twelve.db"
    store = Store(path)
    store.create_app("hello")
    build = store.create_build("hello", "upload")
    store.finish_build(
        build.id, status="succeeded", commit="abc1234def", slug_dir="/s", procfile={"web": "x"}
    )
    store.add_release("hello", 1, build.id, {"A": "1"}, {"web": "x"}, "Deploy abc1234")
    store.set_formation("hello", {"web": 2, "worker": 0})
    store.close()

    again = Store(path)
    release = again.current_release("hello")
    assert release is not None and release.label == "v1"
    assert release.commit == "abc1234def" and release.slug_dir == "/s"
    assert again.get_config("hello") == {"A": "1"}
    assert again.get_formation("hello") == {"web": 2, "worker": 0}
    again.close()


def test_releases_are_numbered_in_order_and_never_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.create_app("hello")
    store.add_release("hello", 1, None, {}, {}, "first")
    with pytest.raises(Conflict):
        store.add_release("hello", 1, None, {}, {}, "again")
    with pytest.raises(Conflict):
        store.add_release("hello", 3, None, {}, {}, "skipped")
    assert store.next_release_version("hello") == 2
    store.close()


def test_names_are_unique_and_missing_things_say_what_to_do(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.create_app("hello")
    with pytest.raises(Conflict, match="already exists"):
        store.create_app("hello")
    with pytest.raises(NotFound, match="twelve apps"):
        store.get_app("nope")
    store.add_domain("hello", "www.example.com")
    store.create_app("other")
    with pytest.raises(Conflict):
        store.add_domain("other", "www.example.com")
    store.close()


def test_destroying_an_app_removes_its_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.create_app("hello")
    store.record_process(ProcessRecord("hello", "web.1", 10, 10, 5, 5000, 1, None))
    store.add_release("hello", 1, None, {"A": "1"}, {}, "x")
    store.delete_app("hello")
    assert store.list_process_records() == []
    store.create_app("hello")
    assert store.current_release("hello") is None and store.get_config("hello") == {}
    store.close()
