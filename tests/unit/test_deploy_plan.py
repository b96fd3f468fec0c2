"""The plans of deploys, rollbacks, config changes, scaling and limits, asserted whole, as data."""

from pathlib import Path

import pytest

from twelve.appspec.appjson import AppJson, HealthCheck
from twelve.deploy import steps
from twelve.deploy.plan import (
    Built,
    Slug,
    plan_config_change,
    plan_deploy,
    plan_failed_build,
    plan_limits,
    plan_rollback,
    plan_scale,
)
from twelve.errors import Conflict, UsageError
from twelve.store.models import Release
from twelve.values import Limits

SLUG_DIR = Path("/home/twelve/builds/shop/7")
PROCFILE = {"web": "gunicorn shop.wsgi", "worker": "python worker.py"}


def built(procfile: dict[str, str] = PROCFILE, runtime: dict[str, object] | None = None) -> Built:
    return Built(
        app="shop",
        build_id=7,
        slug_dir=SLUG_DIR,
        commit="abc1234def",
        builder="python",
        procfile=procfile,
        runtime=dict(runtime or {"python": "3.12.1"}),
    )


def release(version: int, config: dict[str, str], build_id: int | None = 7) -> Release:
    return Release(
        app="shop",
        version=version,
        build_id=build_id,
        config=config,
        procfile=PROCFILE,
        description=f"Deploy v{version}",
        created_at=1700000000.0,
        commit="abc1234def",
        slug_dir=str(SLUG_DIR),
    )


def candidate(
    version: int, config: dict[str, str], description: str, procfile: dict[str, str] = PROCFILE
) -> Release:
    """The release a plan rolls out before it is recorded (so with no creation time yet)."""
    return Release(
        app="shop",
        version=version,
        build_id=7,
        config=config,
        procfile=procfile,
        description=description,
        created_at=0.0,
        commit="abc1234def",
        slug_dir=str(SLUG_DIR),
    )


def build_recorded(procfile: dict[str, str], runtime: dict[str, object]) -> steps.Plan:
    """How every successful build's plan starts: the slug to the app's user, the build recorded."""
    return (
        steps.ChownSlug("shop", SLUG_DIR),
        steps.FinishBuild(
            7,
            "succeeded",
            commit="abc1234def",
            builder="python",
            slug_dir=str(SLUG_DIR),
            procfile=procfile,
            runtime=runtime,
        ),
        steps.Notify(
            "shop",
            "build",
            "update",
            {"id": 7, "status": "succeeded", "commit": "abc1234def", "builder": "python"},
        ),
    )


def release_notice(version: int, description: str) -> steps.Notify:
    return steps.Notify(
        "shop",
        "release",
        "create",
        {"version": version, "description": description, "commit": "abc1234def"},
    )


def test_a_first_deploy_runs_its_release_phase_rolls_out_records_then_runs_postdeploy() -> None:
    procfile = {**PROCFILE, "release": "python manage.py migrate"}
    manifest = AppJson(
        formation={"worker": 2, "clock": 1},  # clock is not in the Procfile: ignored
        postdeploy="python seed.py",
        healthchecks={"web": (HealthCheck("/up"),)},
    )
    plan = plan_deploy(
        built(procfile, {"python": "3.12.1", "check": "2 warnings"}),
        manifest,
        version=1,
        config={"A": "1"},
        formation={},
        first_deploy=True,
    )
    runtime = {
        "python": "3.12.1",
        "check": "2 warnings",
        "healthcheck_path": "/up",
        "postdeploy": "python seed.py",
    }
    description = "Deploy abc1234 (check: 2 warnings)"
    live = candidate(1, {"A": "1"}, description, procfile)
    assert plan == (
        *build_recorded(procfile, runtime),
        steps.Say("-----> Releasing v1"),
        steps.RunReleasePhase(live),
        steps.StartRollout(live, {"web": 1, "worker": 2}),
        steps.RecordRelease(live),
        steps.SetFormation("shop", {"web": 1, "worker": 2}),
        steps.LogEvent("shop", "api", f"Release v1 created: {description}"),
        release_notice(1, description),
        steps.Say("-----> Released v1"),
        steps.RunPostdeploy("python seed.py"),
    )


def test_a_later_deploy_keeps_the_formation_and_skips_app_json_formation_and_postdeploy() -> None:
    manifest = AppJson(formation={"worker": 5}, postdeploy="python seed.py")
    plan = plan_deploy(
        built(),
        manifest,
        version=4,
        config={"A": "2"},
        formation={"web": 3, "worker": 1, "gone": 2},
        first_deploy=False,
    )
    live = candidate(4, {"A": "2"}, "Deploy abc1234")
    runtime = {"python": "3.12.1", "postdeploy": "python seed.py"}
    assert plan == (
        *build_recorded(PROCFILE, runtime),
        steps.Say("-----> Releasing v4"),
        steps.StartRollout(live, {"web": 3, "worker": 1}),
        steps.RecordRelease(live),
        steps.SetFormation("shop", {"web": 3, "worker": 1}),
        steps.LogEvent("shop", "api", "Release v4 created: Deploy abc1234"),
        release_notice(4, "Deploy abc1234"),
        steps.Say("-----> Released v4"),
    )


def test_a_failed_build_is_recorded_told_and_its_directory_removed() -> None:
    assert plan_failed_build("shop", 7, SLUG_DIR, "no Procfile") == (
        steps.FinishBuild(7, "failed"),
        steps.Say("Build 7 failed: no Procfile"),
        steps.LogEvent("shop", "build", "Build 7 failed: no Procfile"),
        steps.Notify("shop", "build", "update", {"id": 7, "status": "failed"}),
        steps.RemoveDir(SLUG_DIR),
    )


def test_a_rollback_releases_the_old_build_and_config_with_its_release_phase() -> None:
    procfile = {**PROCFILE, "release": "python manage.py migrate"}
    target = Release(
        "shop", 2, 7, {"A": "old"}, procfile, "Deploy v2", 1.0, "abc1234def", str(SLUG_DIR)
    )
    slug = Slug(7, "abc1234def", str(SLUG_DIR))
    plan = plan_rollback(target, slug, version=6, formation={"web": 2, "worker": 1})
    live = candidate(6, {"A": "old"}, "Rollback to v2", procfile)
    assert plan == (
        steps.Say("-----> Releasing v6"),
        steps.RunReleasePhase(live),
        steps.StartRollout(live, {"web": 2, "worker": 1}),
        steps.RecordRelease(live),
        steps.SetFormation("shop", {"web": 2, "worker": 1}),
        steps.LogEvent("shop", "api", "Release v6 created: Rollback to v2"),
        release_notice(6, "Rollback to v2"),
        steps.Say("-----> Released v6"),
    )


def test_a_release_without_a_build_cannot_be_rolled_back_to() -> None:
    with pytest.raises(Conflict, match="v3 has no build"):
        plan_rollback(release(3, {}, build_id=None), None, version=5, formation={})


def test_a_config_change_releases_the_live_build_without_a_release_phase() -> None:
    live = release(3, {"A": "1", "B": "2"})
    slug = Slug(7, "abc1234def", str(SLUG_DIR))
    plan = plan_config_change(
        "shop",
        {"A": "1", "B": "2"},
        {"A": "9", "B": None, "C": "3"},
        None,
        live,
        slug,
        version=4,
        formation={"web": 2, "worker": 0},
    )
    config = {"A": "9", "C": "3"}
    description = "Set A, C; Unset B"
    released = candidate(4, config, description)
    assert plan == (
        steps.Say("-----> Releasing v4"),
        steps.StartRollout(released, {"web": 2, "worker": 0}),
        steps.RecordRelease(released),
        steps.SetFormation("shop", {"web": 2, "worker": 0}),
        steps.LogEvent("shop", "api", f"Release v4 created: {description}"),
        release_notice(4, description),
        steps.Say("-----> Released v4"),
    )


def test_a_config_change_before_any_release_only_keeps_the_config() -> None:
    plan = plan_config_change(
        "shop", {"A": "1"}, {"B": "2"}, "Attach B", None, None, version=1, formation={}
    )
    assert plan == (
        steps.ReplaceConfig("shop", {"A": "1", "B": "2"}),
        steps.LogEvent("shop", "api", "Config changed: Attach B"),
    )


def test_a_config_change_that_changes_nothing_plans_nothing() -> None:
    live = release(3, {"A": "1"})
    slug = Slug(7, "abc1234def", str(SLUG_DIR))
    assert (
        plan_config_change(
            "shop", {"A": "1"}, {"A": "1", "Z": None}, None, live, slug, version=4, formation={}
        )
        == ()
    )


def test_scaling_rolls_out_then_keeps_the_formation() -> None:
    live = release(3, {"A": "1"})
    assert plan_scale(live, {"web": 2, "worker": 1}) == (
        steps.StartRollout(live, {"web": 2, "worker": 1}),
        steps.SetFormation("shop", {"web": 2, "worker": 1}),
        steps.LogEvent("shop", "api", "Scaled to web=2, worker=1"),
    )


def test_new_limits_are_kept_before_the_processes_are_replaced() -> None:
    live = release(3, {})
    limits = Limits(memory=256 << 20, cpu=0.5)
    assert plan_limits("shop", "web", limits, live, {"web": 2}) == (
        steps.SetLimits("shop", "web", limits),
        steps.StartRollout(live, {"web": 2}),
        steps.LogEvent("shop", "api", "Limits of web set to memory=256M cpu=0.5"),
    )
    assert plan_limits("shop", "web", limits, None, {}) == (
        steps.SetLimits("shop", "web", limits),
        steps.LogEvent("shop", "api", "Limits of web set to memory=256M cpu=0.5"),
    ), "an app with nothing released only keeps them"
    with pytest.raises(UsageError, match="no process type 'clock'"):
        plan_limits("shop", "clock", limits, live, {"web": 2})
