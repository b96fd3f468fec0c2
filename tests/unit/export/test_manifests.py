"""A release exported to Kubernetes keeps its config, process types, formation, release phase and
shutdown contract, and every object is valid for Kubernetes (checked offline against its schemas)."""

from __future__ import annotations

from typing import Any

import pytest

from twelve.errors import UsageError
from twelve.export.kubernetes import export_kubernetes, manifests
from twelve.export.names import dns_label, label_mapping
from twelve.export.spec import release_from_document
from unit.export.releases import document, spec_of, validate, yaml_objects

IMAGE = "registry.test/shop:v7"


def by_name(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_written_object_validates_against_the_kubernetes_schemas() -> None:
    """What the files hold, parsed back from YAML, not only the objects before writing."""
    files = export_kubernetes(spec_of(), IMAGE, namespace="prod").files
    objects = yaml_objects(files)
    assert [o["kind"] for o in objects] == [
        "Secret", "Job", "Deployment", "Deployment", "Deployment", "Service", "Ingress", "Job",
    ]  # fmt: skip
    for obj in objects:
        validate(obj)
        assert obj["metadata"]["namespace"] == "prod"


@pytest.mark.parametrize(
    "changes",
    [
        {"procfile": {"worker": "python w.py"}, "formation": {"worker": 1}},  # no web, no release
        {"procfile": {"web": "node server.js"}, "formation": {}},  # never scaled
        {"procfile": {"web": "x", "release": "y"}, "formation": {"web": 1}, "commit": None},
    ],
)
def test_releases_without_web_release_phase_or_commit_still_validate(
    changes: dict[str, Any],
) -> None:
    doc = document(postdeploy=None, domains=[], limits={}, healthcheck_path=None)
    doc["formation"] = changes.pop("formation")
    doc["release"].update(changes)
    objects = yaml_objects(export_kubernetes(release_from_document(doc), IMAGE).files)
    for obj in objects:
        validate(obj)
    assert objects[0]["kind"] == "Secret"
    assert ("Job" in [o["kind"] for o in objects]) == ("release" in doc["release"]["procfile"])


def test_the_secret_is_immutable_named_for_the_release_and_holds_exactly_its_config() -> None:
    config = {"DATABASE_URL": "postgres://db/x", "DOTTED.KEY": "kept", "EMPTY": ""}
    doc = document()
    doc["release"]["config"] = config
    result = export_kubernetes(release_from_document(doc), IMAGE)
    secret = yaml_objects(result.files)[0]
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "shop-env-v7"
    assert secret["immutable"] is True
    assert secret["stringData"] == config
    assert result.not_env_names == ["DOTTED.KEY"] and result.left_out == []
    assert result.private == {"00-secret-shop-env-v7.yaml"}
    validate(secret)


def test_a_config_key_no_secret_can_hold_is_left_out_and_reported() -> None:
    doc = document()
    doc["release"]["config"] = {"GOOD": "1", "has space": "2", "NEWLINE\n": "3"}
    result = export_kubernetes(release_from_document(doc), IMAGE)
    assert yaml_objects(result.files)[0]["stringData"] == {"GOOD": "1"}
    assert result.left_out == ["NEWLINE\n", "has space"]
    assert result.not_env_names == ["NEWLINE\n", "has space"]


def test_config_values_survive_the_yaml_round_trip() -> None:
    """Newlines, braces and quotes come back exactly as the release holds them."""
    spec = spec_of()
    secret = yaml_objects(export_kubernetes(spec, IMAGE).files)[0]
    assert secret["stringData"] == spec.config


def test_one_deployment_per_process_type_with_the_formations_replicas_zero_included() -> None:
    deployments = by_name(manifests(spec_of(), IMAGE), "Deployment")
    replicas = {name: d["spec"]["replicas"] for name, d in deployments.items()}
    assert replicas == {"shop-web": 3, "shop-worker-2": 2, "shop-clock": 0}
    for deployment in deployments.values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == IMAGE
        assert container["envFrom"] == [{"secretRef": {"name": "shop-env-v7"}}]
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    commands = {
        n: d["spec"]["template"]["spec"]["containers"][0]["command"] for n, d in deployments.items()
    }
    assert commands["shop-worker-2"] == ["/bin/sh", "-c", "python worker.py"]


def test_probes_and_grace_follow_twelves_boot_and_stop_timeouts() -> None:
    deployments = by_name(manifests(spec_of(), IMAGE), "Deployment")
    pod = deployments["shop-web"]["spec"]["template"]["spec"]
    web = pod["containers"][0]
    startup = web["startupProbe"]
    assert startup["tcpSocket"] == {"port": 5000}
    assert startup["periodSeconds"] * startup["failureThreshold"] == 45  # boot_timeout
    assert web["readinessProbe"]["httpGet"] == {"path": "/health", "port": 5000}
    pause = int(web["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pause > 0 and pod["terminationGracePeriodSeconds"] == 25 + pause  # stop_timeout
    assert {"name": "PORT", "value": "5000"} in web["env"]
    assert web["resources"]["requests"] == {"memory": "512Mi", "cpu": "500m"}
    worker = deployments["shop-worker-2"]["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in worker and "startupProbe" not in worker
    assert "PORT" not in [e["name"] for e in worker["env"]]


def test_without_a_health_check_readiness_is_the_port() -> None:
    deployments = by_name(manifests(spec_of(healthcheck_path=None), IMAGE), "Deployment")
    web = deployments["shop-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["tcpSocket"] == {"port": 5000}


def test_the_platform_variables_are_set_as_twelve_sets_them() -> None:
    web = by_name(manifests(spec_of(), IMAGE), "Deployment")["shop-web"]
    env = {e["name"]: e for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TWELVE_RELEASE"]["value"] == "v7"
    assert env["SOURCE_VERSION"]["value"] == "0123456789abcdef0123456789abcdef01234567"
    assert env["DYNO"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_the_release_phase_is_a_job_that_comes_before_the_deployments() -> None:
    objects = manifests(spec_of(), IMAGE)
    order = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert order[:3] == [
        ("Secret", "shop-env-v7"),
        ("Job", "shop-release-v7"),
        ("Deployment", "shop-web"),
    ]
    secret, job = objects[0], objects[1]
    hooks = job["metadata"]["annotations"]
    assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
    # Helm creates hooks by weight: the config the Job reads must exist before it.
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        hooks["helm.sh/hook-weight"]
    )
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    assert pod["containers"][0]["command"] == ["/bin/sh", "-c", "python manage.py migrate"]
    assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "shop-env-v7"}}]


def test_postdeploy_is_a_job_after_everything_on_the_first_install_only() -> None:
    last = manifests(spec_of(), IMAGE)[-1]
    assert (last["kind"], last["metadata"]["name"]) == ("Job", "shop-postdeploy")
    assert last["metadata"]["annotations"]["helm.sh/hook"] == "post-install"
    assert not any(
        o["metadata"]["name"] == "shop-postdeploy"
        for o in manifests(spec_of(postdeploy=None), IMAGE)
    )


def test_web_gets_a_service_and_an_ingress_for_the_apps_domains() -> None:
    objects = manifests(spec_of(), IMAGE)
    service = by_name(objects, "Service")["shop-web"]
    ingress = by_name(objects, "Ingress")["shop"]
    assert service["spec"]["ports"][0]["targetPort"] == 5000
    web = by_name(objects, "Deployment")["shop-web"]
    assert (
        service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    )
    assert [r["host"] for r in ingress["spec"]["rules"]] == [
        "shop.example.com",
        "www.shop.example.com",
    ]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "shop-web", "port": {"number": 80}}


def test_an_app_without_domains_is_served_under_the_platform_domain() -> None:
    ingress = by_name(manifests(spec_of(domains=[]), IMAGE), "Ingress")["shop"]
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["shop.apps.test"]


def test_process_types_become_dns_labels_and_the_mapping_is_reported() -> None:
    assert dns_label("Worker__2") == "worker-2"
    assert label_mapping(["web", "worker_2", "worker-2", "_"]) == {
        "web": "web", "worker_2": "worker-2", "worker-2": "worker-2-2", "_": "x",
    }  # fmt: skip
    result = export_kubernetes(spec_of(), IMAGE)
    assert result.labels["worker_2"] == "worker-2"
    assert "`worker_2` → `worker-2`" in result.files["README.md"]


def test_the_longest_names_twelve_allows_still_make_valid_objects() -> None:
    """A 30-character app with a 63-character process type, twice over after mapping."""
    long_type = "Worker_" + "x" * 56
    doc = document(app="a" * 30, formation={long_type: 1, long_type.lower(): 1})
    doc["release"]["procfile"] = {long_type: "run", long_type.lower(): "run", "release": "m"}
    doc["release"]["version"] = 123456789
    objects = yaml_objects(export_kubernetes(release_from_document(doc), IMAGE).files)
    for obj in objects:
        validate(obj)
        assert len(obj["metadata"]["name"]) <= 63
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"]
    assert len(set(names)) == 2


def test_an_incomplete_export_document_is_a_one_line_error() -> None:
    doc = document()
    del doc["settings"]
    with pytest.raises(UsageError, match="export document is incomplete"):
        release_from_document(doc)


def test_a_type_sized_unlike_web_gets_its_own_buildpack_sizes_unless_the_config_sets_them() -> None:
    limits = {"web": {"memory": 512 << 20, "cpu": 1}, "worker_2": {"memory": 2048 << 20, "cpu": 4}}
    deployments = by_name(manifests(spec_of(limits=limits), IMAGE), "Deployment")

    def env(name: str) -> dict[str, str]:
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e.get("value", "") for e in container["env"]}

    assert "WEB_CONCURRENCY" not in env("shop-web")  # the image's ENV holds web's
    assert env("shop-worker-2")["WEB_CONCURRENCY"] == "8"  # min(2 x 4 + 1, 2048 / 256)
    doc = document(limits=limits)
    doc["release"]["config"]["WEB_CONCURRENCY"] = "3"
    chosen = by_name(manifests(release_from_document(doc), IMAGE), "Deployment")
    container = chosen["shop-worker-2"]["spec"]["template"]["spec"]["containers"][0]
    assert "WEB_CONCURRENCY" not in {e["name"] for e in container["env"]}
