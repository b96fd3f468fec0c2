"""Heroku's files and conventions read the way Heroku reads them: app.json, engines, pushes."""

import pytest

from twelve.appspec.appjson import initial_config, parse_app_json
from twelve.build.pipfile import pipfile_requirements
from twelve.build.plan import SourceFacts, plan_build
from twelve.build.semver import satisfies
from twelve.errors import BuildError, SpecError, UsageError
from twelve.pushrefs import ZERO, pick_deploy

APP_JSON = """{
  "name": "ignored", "unknown-key": [1, 2],
  "env": {
    "SECRET_KEY": {"generator": "secret"},
    "WEB_CONCURRENCY": {"value": "2"},
    "API_URL": {"description": "the upstream", "required": true},
    "OPTIONAL": {"required": false},
    "PLAIN": "x"
  },
  "formation": {"web": {"quantity": 2}, "worker": {"quantity": 1}},
  "scripts": {"postdeploy": "python seed.py"},
  "healthchecks": {"web": [{"type": "startup", "path": "/health", "attempts": 5}]}
}"""


def test_app_json_fills_defaults_generates_secrets_and_lists_what_is_missing() -> None:
    spec = parse_app_json(APP_JSON)
    assert spec.formation == {"web": 2, "worker": 1}
    assert spec.postdeploy == "python seed.py"
    assert spec.healthchecks["web"][0].path == "/health"
    with pytest.raises(UsageError, match="API_URL") as info:
        initial_config(spec, {})
    assert "twelve config:set API_URL=" in (info.value.hint or "")
    config = initial_config(spec, {"API_URL": "https://x", "WEB_CONCURRENCY": "4"})
    assert config["WEB_CONCURRENCY"] == "4", "a value already set is kept"
    assert config["PLAIN"] == "x" and "OPTIONAL" not in config
    assert len(config["SECRET_KEY"]) == 64
    assert initial_config(spec, {"API_URL": "y"})["SECRET_KEY"] != config["SECRET_KEY"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[1]", "JSON object"),
        ('{"env": {"1BAD": "x"}}', "env.1BAD"),
        ('{"env": {"A": {"generator": "uuid"}}}', "env.A.generator"),
        ('{"formation": {"web": {"quantity": -1}}}', "formation.web.quantity"),
        ('{"healthchecks": {"web": [{"path": "health"}]}}', "path"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_malformed_app_json_names_the_key(text: str, key: str) -> None:
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        parse_app_json(text)


@pytest.mark.parametrize(
    ("spec", "fits"),
    [
        ("20.x", True),
        (">=16", True),
        ("^20.1.0", True),
        ("^18.0.0", False),
        ("~20.20", True),
        (">=14 <19", False),
        ("16 || 20", True),
        ("18", False),
        ("*", True),
    ],
)
def test_engines_ranges_against_node_20(spec: str, fits: bool) -> None:
    assert satisfies((20, 20, 2), spec) is fits


def test_node_plans_run_ci_then_the_build_script_and_warn_on_a_mismatched_engine() -> None:
    facts = SourceFacts(
        frozenset({"package.json", "package-lock.json"}),
        npm_scripts=frozenset({"build", "heroku-postbuild", "start"}),
        node_engine="18.x",
        node_version="20.20.2",
    )
    plan = plan_build(facts)
    assert [s.argv for s in plan.steps] == [
        ("npm", "ci"),
        ("npm", "run", "heroku-postbuild"),
        ("npm", "prune", "--omit=dev"),
    ]
    assert any("does not match" in n for n in plan.notes)
    strict = SourceFacts(
        facts.files, node_engine="18.x", node_version="20.20.2", strict_engines=True
    )
    with pytest.raises(BuildError, match="does not match"):
        plan_build(strict)


def test_node_without_a_lock_file_installs_with_a_warning() -> None:
    plan = plan_build(SourceFacts(frozenset({"package.json"})))
    assert plan.steps[0].argv == ("npm", "install")
    assert any("no package-lock.json" in n for n in plan.notes)


def test_only_main_or_master_deploy() -> None:
    sha = "a" * 40
    assert pick_deploy([(ZERO, sha, "refs/heads/main")]) == sha
    assert (
        pick_deploy([(ZERO, "b" * 40, "refs/heads/feature"), (ZERO, sha, "refs/heads/master")])
        == sha
    )
    with pytest.raises(UsageError, match="only main or master deploy") as info:
        pick_deploy([(ZERO, sha, "refs/heads/feature")])
    assert "HEAD:main" in (info.value.hint or "")
    with pytest.raises(UsageError, match="deleting main"):
        pick_deploy([(sha, ZERO, "refs/heads/main")])


def test_pipfile_lock_installs_its_default_packages_as_locked() -> None:
    lock = """{
      "_meta": {"hash": {"sha256": "x"}},
      "default": {
        "flask": {"version": "==3.1.3", "hashes": ["sha256:a"]},
        "uvicorn": {"version": "==0.30.0", "extras": ["standard"], "markers": "python_version >= '3.8'"},
        "mylib": {"git": "https://example.com/mylib.git", "ref": "abc123"}
      },
      "develop": {"pytest": {"version": "==8.0.0"}}
    }"""
    assert pipfile_requirements(lock).splitlines() == [
        "flask==3.1.3",
        "mylib @ git+https://example.com/mylib.git@abc123",
        "uvicorn[standard]==0.30.0; python_version >= '3.8'",
    ]
    plan = plan_build(SourceFacts(frozenset({"Pipfile.lock", "Pipfile", "Procfile"})))
    assert plan.steps[2].description == "install dependencies from Pipfile.lock"
    assert plan.steps[2].argv[-1] == "{pipfile_requirements}"
    with pytest.raises(BuildError, match=r"Pipfile\.lock is not valid JSON"):
        pipfile_requirements("{")
