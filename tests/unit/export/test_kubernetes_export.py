"""A release exported to Kubernetes keeps its build, config, process types, release phase and
shutdown contract; every object validates against the Kubernetes schemas (offline)."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from twelve.build.plan import SourceFacts, plan_build
from twelve.export.dockerfile import image_values
from twelve.export.helm import export_helm
from twelve.export.kubernetes import export_kubernetes, manifests
from twelve.export.names import dns_label, label_mapping
from twelve.export.spec import ReleaseSpec, release_from_document

K8S_VERSION = "1.37.0"


def build_runtime(facts: SourceFacts, python: str | None = "3.12.4") -> dict[str, Any]:
    """The build runtime exactly as the builder records it (see build/runner.py)."""
    plan = plan_build(facts)
    return {
        "builder": plan.builder,
        "python": python,
        "steps": [
            {"description": s.description, "argv": list(s.argv), "env": dict(s.env),
             "with_app_config": s.with_app_config}
            for s in plan.steps
        ],
    }  # fmt: skip


def document(**overrides: Any) -> dict[str, Any]:
    facts = SourceFacts(frozenset({"uv.lock", "pyproject.toml", "Procfile"}))
    doc: dict[str, Any] = {
        "app": "shop",
        "release": {
            "version": 7,
            "commit": "0123456789abcdef",
            "config": {
                "DATABASE_URL": "postgres://u:p@db/shop",
                "SECRET_KEY": "s3cret",
                "bad-key": "x",
            },
            "procfile": {
                "release": "python manage.py migrate",
                "web": "gunicorn shop.wsgi",
                "worker_2": "python worker.py",
                "clock": "python clock.py",
            },
        },
        "formation": {"web": 3, "worker_2": 2, "clock": 0},
        "domains": ["shop.example.com", "www.shop.example.com"],
        "build": {"builder": "python", "runtime": build_runtime(facts)},
        "healthcheck_path": "/health",
        "postdeploy": "python seed.py",
        "limits": {"web": {"memory": 512 << 20, "cpu": 0.5}},
        "settings": {"stop_timeout": 25, "boot_timeout": 45, "domain": "apps.test"},
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def spec() -> ReleaseSpec:
    return release_from_document(document())


def objects_of(files: dict[str, str]) -> list[dict[str, Any]]:
    return [yaml.safe_load(text) for name, text in sorted(files.items()) if name.endswith(".yaml")]


def test_every_object_validates_against_the_kubernetes_schemas(spec: ReleaseSpec) -> None:
    for obj in manifests(spec, "registry.test/shop:v7", namespace="prod"):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_secret_holds_exactly_the_release_config_and_is_immutable(spec: ReleaseSpec) -> None:
    result = export_kubernetes(spec, "registry.test/shop:v7")
    secret = objects_of(result.files)[0]
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "shop-env-v7"
    assert secret["immutable"] is True
    assert secret["stringData"] == {
        "DATABASE_URL": "postgres://u:p@db/shop",
        "SECRET_KEY": "s3cret",
    }
    assert result.skipped_keys == ["bad-key"]


def test_deployments_follow_the_formation_and_the_shutdown_contract(spec: ReleaseSpec) -> None:
    objs = {o["metadata"]["name"]: o for o in manifests(spec, "img") if o["kind"] == "Deployment"}
    replicas = {n: o["spec"]["replicas"] for n, o in objs.items()}
    assert replicas == {"shop-web": 3, "shop-worker-2": 2, "shop-clock": 0}
    web = objs["shop-web"]["spec"]["template"]["spec"]
    container = web["containers"][0]
    assert web["terminationGracePeriodSeconds"] == 25 + 5
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert (
        container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"]
        == 45
    )
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert {"name": "PORT", "value": "5000"} in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": "shop-env-v7"}}]
    assert container["command"] == ["/bin/sh", "-c", "gunicorn shop.wsgi"]
    assert container["resources"]["limits"] == {"memory": "512Mi", "cpu": "500m"}
    strategy = objs["shop-web"]["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0
    worker = objs["shop-worker-2"]["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in worker and not any(e["name"] == "PORT" for e in worker["env"])


def test_the_release_phase_runs_first_as_a_job_and_postdeploy_last(spec: ReleaseSpec) -> None:
    kinds = [(o["kind"], o["metadata"]["name"]) for o in manifests(spec, "img")]
    assert kinds[0] == ("Secret", "shop-env-v7")
    assert kinds[1] == ("Job", "shop-release-v7")
    assert kinds[-1] == ("Job", "shop-postdeploy")
    job = manifests(spec, "img")[1]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert (
        job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        == "python manage.py migrate"
    )
    readme = export_kubernetes(spec, "img").files["README.md"]
    applies = re.findall(r"kubectl apply -f (\S+)", readme)
    assert "secret" in applies[0] and "release" in applies[1]


def test_web_gets_a_service_and_an_ingress_with_the_apps_domains(spec: ReleaseSpec) -> None:
    objs = {o["kind"]: o for o in manifests(spec, "img")}
    hosts = [r["host"] for r in objs["Ingress"]["spec"]["rules"]]
    assert hosts == ["shop.example.com", "www.shop.example.com"]
    assert objs["Service"]["spec"]["ports"][0]["targetPort"] == 5000


def test_dockerfile_runs_exactly_the_builders_plan(spec: ReleaseSpec) -> None:
    """The RUN lines are the plan the builder runs, rendered for the image: not a second copy."""
    dockerfile = export_kubernetes(spec, "img").files["Dockerfile"]
    assert dockerfile.splitlines()[2] == "FROM python:3.12-slim"
    runs = [json.loads(line[4:]) for line in dockerfile.splitlines() if line.startswith("RUN [")]
    plan = plan_build(SourceFacts(frozenset({"uv.lock", "pyproject.toml", "Procfile"})))
    expected = [
        (["env", *(f"{k}={v}" for k, v in s.env)] if s.env else []) + list(s.argv)
        for s in plan.render(image_values(spec))
    ]
    assert runs[1:] == expected  # after installing uv itself
    assert expected[1][:2] == ["env", "UV_PROJECT_ENVIRONMENT=/venv"]


def test_process_types_become_dns_labels_and_the_mapping_is_reported() -> None:
    assert dns_label("Worker_2") == "worker-2"
    assert label_mapping(["web", "worker_2", "worker-2"]) == {
        "web": "web", "worker_2": "worker-2", "worker-2": "worker-2-2",
    }  # fmt: skip


def test_a_node_release_builds_on_node_with_its_npm_steps() -> None:
    facts = SourceFacts(
        frozenset({"package.json", "package-lock.json"}), npm_scripts=frozenset({"build"})
    )
    doc = document(build={"builder": "node", "runtime": build_runtime(facts, python=None)})
    doc["release"]["procfile"] = {"web": "npm start"}
    doc["formation"] = {"web": 1}
    files = export_kubernetes(release_from_document(doc), "img").files
    lines = files["Dockerfile"].splitlines()
    assert lines[2] == "FROM node:20-slim"
    assert [json.loads(x[4:]) for x in lines if x.startswith("RUN [")] == [
        ["npm", "ci"], ["npm", "run", "build"], ["npm", "prune", "--omit=dev"],
    ]  # fmt: skip
    for obj in objects_of(files):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def render_chart(files: dict[str, str]) -> list[dict[str, Any]]:
    """A minimal stand-in for helm's rendering of the expressions this chart uses."""
    values = yaml.safe_load(files["values.yaml"])

    def substitute(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        if expr == ".Values.image":
            return str(values["image"])
        if expr.startswith(".Values.replicas."):
            return str(values["replicas"][expr.rsplit(".", 1)[1]])
        index = re.fullmatch(r"index \.Values\.domains (\d+) \| quote", expr)
        assert index, f"unexpected template expression {expr!r}"
        return json.dumps(values["domains"][int(index.group(1))])

    return [
        yaml.safe_load(re.sub(r"\{\{(.*?)\}\}", substitute, text))
        for name, text in sorted(files.items())
        if name.startswith("templates/")
    ]


def test_the_helm_chart_holds_image_replicas_and_domains_in_values(spec: ReleaseSpec) -> None:
    files = export_helm(spec, "registry.test/shop:v7").files
    assert yaml.safe_load(files["Chart.yaml"])["apiVersion"] == "v2"
    values = yaml.safe_load(files["values.yaml"])
    assert values == {
        "image": "registry.test/shop:v7",
        "replicas": {"web": 3, "worker_2": 2, "clock": 0},
        "domains": ["shop.example.com", "www.shop.example.com"],
    }
    rendered = render_chart(files)
    for obj in rendered:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    plain = manifests(spec, "registry.test/shop:v7")
    assert rendered == plain, "the chart with its default values is the plain export"
