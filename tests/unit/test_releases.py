"""What a release runs and how releases are described: pure rules of the deployer."""

from twelve.releases import Source, config_description, process_specs
from twelve.routes import route_table
from twelve.store import Release
from twelve.values import Backend


def _release(**overrides: object) -> Release:
    values: dict[str, object] = {
        "app": "hello",
        "version": 4,
        "build_id": 2,
        "config": {"B": "2", "A": "1"},
        "procfile": {"web": "python app.py", "worker": "python w.py", "release": "migrate"},
        "description": "Deploy",
        "created_at": 0.0,
        "commit": "abc",
        "slug_dir": "/slugs/2",
    }
    values.update(overrides)
    return Release(**values)  # type: ignore[arg-type]


def test_specs_follow_the_formation_and_name_each_process() -> None:
    specs = process_specs(_release(), {"web": 2, "worker": 1})
    assert [s.name for s in specs] == ["web.1", "web.2", "worker.1"]
    assert specs[2].command == "python w.py"
    assert dict(specs[0].config) == {"A": "1", "B": "2"}


def test_a_release_without_a_build_runs_nothing() -> None:
    assert process_specs(_release(slug_dir=None), {"web": 1}) == []


def test_config_descriptions_name_keys_never_values() -> None:
    text = config_description({"SECRET": "s3cr3t", "OLD": None, "A": "x"})
    assert text == "Set A, SECRET; Unset OLD"
    assert "s3cr3t" not in text


def test_route_table_lists_backends_and_custom_domains() -> None:
    table = route_table(
        7, {"hello": [Backend("web.1", 5001)]}, [("www.example.com", "hello"), ("x.test", "other")]
    )
    assert table["version"] == 7
    assert table["apps"]["hello"] == {
        "domains": ["www.example.com"],
        "backends": [{"dyno": "web.1", "host": "127.0.0.1", "port": 5001}],
    }
    assert table["apps"]["other"]["backends"] == []


def test_a_git_sources_credentials_never_reach_its_description() -> None:
    described = Source(
        git_url="https://deploy:s3cret-token@git.example.com/a/b.git", ref="main"
    ).describe()
    assert "s3cret-token" not in described and described.endswith("git.example.com/a/b.git@main")
