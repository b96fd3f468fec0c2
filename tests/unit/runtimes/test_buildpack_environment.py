"""The environment Heroku's buildpacks give every dyno, and twelve gives every process."""

from pathlib import Path

from twelve.dyno_defaults import buildpack_defaults, dyno_size, web_concurrency
from twelve.supervisor.environment import slug_environment
from twelve.values import NO_LIMITS, Limits

MB = 1 << 20


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
    assert node == {
        "NODE_ENV": "production",
        "MEMORY_AVAILABLE": "512",
        "WEB_MEMORY": "512",
        "WEB_CONCURRENCY": "1",
    }


def test_a_process_memory_limit_sizes_web_concurrency_as_a_dyno_of_that_size_would() -> None:
    assert dyno_size(Limits(memory=1024 * MB, cpu=1.5)) == (1024, 2)
    assert dyno_size(NO_LIMITS)[0] == 512, "no limit counts as Standard-1X"
    # Standard-2X (1 GB): Python 4 workers; Performance-M-like 2.5 GB on 2 cores: 2 x 2 + 1.
    assert (
        buildpack_defaults(
            python=True, node=False, workdir="/w", limits=Limits(memory=1024 * MB, cpu=4)
        )["WEB_CONCURRENCY"]
        == "4"
    )
    assert (
        buildpack_defaults(
            python=True, node=False, workdir="/w", limits=Limits(memory=2560 * MB, cpu=2)
        )["WEB_CONCURRENCY"]
        == "5"
    )
    node = buildpack_defaults(python=False, node=True, workdir="/w", limits=Limits(2048 * MB))
    assert (node["MEMORY_AVAILABLE"], node["WEB_CONCURRENCY"]) == ("2048", "4")


def test_node_divides_the_memory_by_the_apps_web_memory() -> None:
    node = buildpack_defaults(
        python=False,
        node=True,
        workdir="/w",
        limits=Limits(memory=1024 * MB),
        config={"WEB_MEMORY": "256"},
    )
    assert (node["WEB_MEMORY"], node["WEB_CONCURRENCY"]) == ("256", "4")
    odd = buildpack_defaults(python=False, node=True, workdir="/w", config={"WEB_MEMORY": "x"})
    assert odd["WEB_MEMORY"] == "512", "a value that is not a size in MB keeps the default"


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


def _env(slug: Path, config: dict[str, str], limits: Limits = NO_LIMITS) -> dict[str, str]:
    return slug_environment(
        slug,
        slug / "work",
        app="a",
        dyno="web.1",
        release=1,
        config=config,
        commit=None,
        port=5000,
        limits=limits,
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


def test_a_process_gets_the_web_concurrency_of_its_own_memory_limit(tmp_path: Path) -> None:
    slug = _slug(tmp_path, venv=True, package=False, runtime=False)
    assert _env(slug, {})["WEB_CONCURRENCY"] == "2"
    assert _env(slug, {}, Limits(memory=1024 * MB, cpu=2))["WEB_CONCURRENCY"] == "4"
    assert _env(slug, {}, Limits(memory=256 * MB))["WEB_CONCURRENCY"] == "1"
