"""The environment Heroku's buildpacks give every dyno, and twelve gives every process."""

from pathlib import Path

from twelve.supervisor.environment import buildpack_defaults, slug_environment, web_concurrency


def test_web_concurrency_follows_herokus_formulas() -> None:
    assert web_concurrency("python", 512, 8) == 2  # Standard-1X: 512 MB / 256
    assert web_concurrency("python", 2560, 2) == 5  # capped at 2 x cores + 1
    assert web_concurrency("node", 512, 8) == 1  # 512 MB / WEB_MEMORY 512
    assert web_concurrency("node", 100, 8) == 1
    assert web_concurrency("node", 1 << 20, 8) == 32


def test_python_and_node_defaults() -> None:
    python = buildpack_defaults(python=True, node=False, workdir="/w")
    assert python == {
        "WEB_CONCURRENCY": "2",
        "FORWARDED_ALLOW_IPS": "*",
        "PYTHONHASHSEED": "random",
        "PYTHONPATH": "/w",
    }
    node = buildpack_defaults(python=False, node=True, workdir="/w")
    assert node == {"NODE_ENV": "production", "WEB_CONCURRENCY": "1"}


def _slug(tmp_path: Path, *, venv: bool, package: bool, runtime: bool) -> Path:
    slug = tmp_path / "slug"
    (slug / "app").mkdir(parents=True)
    if venv:
        (slug / "venv" / "bin").mkdir(parents=True)
    if package:
        (slug / "app" / "package.json").write_text("{}")
    if runtime:
        (slug / "runtime" / "bin").mkdir(parents=True)
    return slug


def _env(slug: Path, config: dict[str, str]) -> dict[str, str]:
    return slug_environment(
        slug, slug / "work", app="a", dyno="web.1", release=1, config=config, commit=None, port=5000
    )


def test_app_config_overrides_every_default(tmp_path: Path) -> None:
    slug = _slug(tmp_path, venv=True, package=False, runtime=False)
    env = _env(slug, {"WEB_CONCURRENCY": "7", "PYTHONHASHSEED": "0"})
    assert env["WEB_CONCURRENCY"] == "7" and env["PYTHONHASHSEED"] == "0"
    assert env["PYTHONPATH"] == str(slug / "work") and env["FORWARDED_ALLOW_IPS"] == "*"
    assert "NODE_ENV" not in env


def test_a_node_slug_gets_node_env_and_its_runtime_on_path(tmp_path: Path) -> None:
    slug = _slug(tmp_path, venv=False, package=True, runtime=True)
    env = _env(slug, {})
    assert env["NODE_ENV"] == "production"
    assert env["PATH"].split(":")[0] == str(slug / "runtime" / "bin")
    assert _env(slug, {"NODE_ENV": "staging"})["NODE_ENV"] == "staging"
