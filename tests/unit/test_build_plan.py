"""Detection and build plans as data: which builder, which interpreter, which commands."""

import json
from pathlib import Path

import pytest

from twelve.build.detect import gather_facts
from twelve.build.interpreters import Interpreter, choose, parse_requested
from twelve.build.plan import SourceFacts, detect_builder, plan_build
from twelve.errors import BuildError

AVAILABLE = [
    Interpreter((3, 13, 0), "/py/3.13"),
    Interpreter((3, 12, 1), "/py/3.12"),
    Interpreter((3, 11, 7), "/py/3.11"),
]


def test_uv_lock_wins_and_syncs_without_the_project_itself() -> None:
    plan = plan_build(SourceFacts(frozenset({"uv.lock", "pyproject.toml", "Procfile"})))
    assert plan.builder == "python"
    argvs = [s.argv for s in plan.steps]
    assert argvs[0][:2] == ("{uv}", "venv")
    assert argvs[2][:3] == ("{uv}", "sync", "--locked")
    assert "--inexact" in argvs[2], "the sync keeps pip (and setuptools) beside the lock's packages"
    # Heroku installs no dependency group; --no-dev would still install other default-groups.
    assert "--no-default-groups" in argvs[2] and "--no-dev" not in argvs[2]
    assert ("UV_PROJECT_ENVIRONMENT", "{venv}") in plan.steps[2].env


def test_requirements_txt_installs_into_the_slug_venv() -> None:
    plan = plan_build(SourceFacts(frozenset({"requirements.txt", "Procfile"})))
    rendered = plan.render(
        {"uv": "/bin/uv", "venv": "/slug/venv", "python": "/py", "app": "/slug/app"}
    )
    assert rendered[2].argv == (
        "/bin/uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        "/slug/venv/bin/python",
        "-r",
        "requirements.txt",
    )


def test_generic_apps_run_bin_build_when_present() -> None:
    plan = plan_build(
        SourceFacts(frozenset({"Procfile", "bin/build"}), build_script_executable=True)
    )
    assert plan.builder == "generic"
    assert [s.argv for s in plan.steps] == [("bin/build",)]
    with pytest.raises(BuildError, match="not executable"):
        plan_build(SourceFacts(frozenset({"Procfile", "bin/build"})))


def test_an_unrecognised_tree_says_what_to_add() -> None:
    with pytest.raises(BuildError, match="no builder"):
        detect_builder(SourceFacts(frozenset()))


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("3.12\n", (3, 12, None)), ("python-3.12.4", (3, 12, 4)), ("# x\n3.11.7", (3, 11, 7))],
)
def test_version_files_in_both_forms(text: str, parsed: tuple[int, int, int | None]) -> None:
    assert parse_requested(text, "runtime.txt") == parsed


def test_an_exact_version_is_used_and_a_missing_patch_falls_back_with_a_note() -> None:
    assert choose((3, 12, 1), AVAILABLE).interpreter.path == "/py/3.12"
    fallback = choose((3, 12, 9), AVAILABLE)
    assert fallback.interpreter.path == "/py/3.12" and "3.12.9" in (fallback.note or "")


def test_a_missing_minor_version_lists_what_the_machine_has() -> None:
    with pytest.raises(BuildError, match=r"Python 3\.9 is not available") as info:
        choose((3, 9, None), AVAILABLE)
    assert "3.11, 3.12, 3.13" in (info.value.hint or "")


def test_no_request_takes_the_setting_else_the_newest() -> None:
    assert choose(None, AVAILABLE).interpreter.path == "/py/3.13"
    assert choose(None, AVAILABLE, default="3.11").interpreter.path == "/py/3.11"


def _baseline(version: tuple[int, int, int] | None) -> tuple[str, ...]:
    facts = SourceFacts(frozenset({"requirements.txt", "Procfile"}), python_version=version)
    step = plan_build(facts).steps[1]
    assert step.argv[:3] == ("{uv}", "pip", "install")
    return step.argv[6:]


def test_python_below_3_12_gets_setuptools_with_pkg_resources_and_wheel_beside_pip() -> None:
    assert _baseline((3, 11, 7)) == ("pip", "setuptools<82", "wheel")
    assert _baseline((3, 10, 13)) == ("pip", "setuptools<82", "wheel")
    assert _baseline((3, 12, 1)) == ("pip",)
    assert _baseline((3, 13, 0)) == ("pip",)


def test_the_apps_own_requirements_install_after_the_baseline_so_its_pins_win() -> None:
    plan = plan_build(
        SourceFacts(frozenset({"requirements.txt", "Procfile"}), python_version=(3, 11, 7))
    )
    descriptions = [s.description for s in plan.steps]
    assert descriptions[1].startswith("add pip and setuptools<82 and wheel")
    assert descriptions[2] == "install dependencies from requirements.txt"


def test_node_builds_run_with_node_env_production_and_still_install_dev_dependencies() -> None:
    facts = SourceFacts(
        frozenset({"package.json", "package-lock.json"}), npm_scripts=frozenset({"build"})
    )
    install, build, prune = plan_build(facts).steps
    assert {("NODE_ENV", "production"), ("NPM_CONFIG_INCLUDE", "dev")} <= set(install.env)
    assert dict(build.env) == {"NODE_ENV": "production"}
    assert prune.argv == ("npm", "prune", "--omit=dev")
    staging = SourceFacts(frozenset({"package.json"}), node_env="staging")
    assert ("NODE_ENV", "staging") in plan_build(staging).steps[0].env


def test_a_pipfile_lock_names_the_python_when_no_version_file_does(tmp_path: Path) -> None:
    """As Heroku's buildpack: ``_meta.requires`` of Pipfile.lock, after .python-version and
    runtime.txt; the full version wins over the minor."""
    lock = {"_meta": {"requires": {"python_version": "3.6"}}, "default": {}}
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock))
    facts = gather_facts(tmp_path)
    assert (facts.python_request, facts.python_version_file) == ((3, 6, None), "Pipfile.lock")
    lock["_meta"]["requires"]["python_full_version"] = "3.6.4"
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock))
    assert gather_facts(tmp_path).python_request == (3, 6, 4)
    (tmp_path / "runtime.txt").write_text("python-3.12.1\n")
    facts = gather_facts(tmp_path)
    assert (facts.python_request, facts.python_version_file) == ((3, 12, 1), "runtime.txt")


def test_a_pipfile_lock_without_a_python_leaves_the_choice_to_the_platform(tmp_path: Path) -> None:
    (tmp_path / "Pipfile.lock").write_text(json.dumps({"_meta": {}, "default": {}}))
    assert gather_facts(tmp_path).python_request is None
