"""``--format helm`` writes the same export as a chart whose values hold the image, the replicas of
each process type and the domains; rendered with its values, it is the plain export."""

from __future__ import annotations

import yaml

from twelve.export.helm import export_helm
from twelve.export.kubernetes import manifests
from unit.export.releases import render_chart, spec_of, validate

IMAGE = "registry.test/shop:v7"


def test_the_chart_has_a_chart_file_values_and_templates() -> None:
    files = export_helm(spec_of(), IMAGE).files
    chart = yaml.safe_load(files["Chart.yaml"])
    assert (
        chart["apiVersion"] == "v2" and chart["name"] == "shop" and chart["type"] == "application"
    )
    assert chart["version"] == "0.7.0"
    assert {"Dockerfile", ".dockerignore", "README.md", ".helmignore"} <= files.keys()
    assert "app-config.json" in files[".helmignore"].splitlines()
    assert len([n for n in files if n.startswith("templates/")]) == 8


def test_values_hold_image_replicas_per_type_and_domains() -> None:
    values = yaml.safe_load(export_helm(spec_of(), IMAGE).files["values.yaml"])
    assert values == {
        "image": IMAGE,
        "replicas": {"web": 3, "worker-2": 2, "clock": 0},
        "domains": ["shop.example.com", "www.shop.example.com"],
    }


def test_rendered_with_its_values_the_chart_is_the_plain_export() -> None:
    spec = spec_of()
    rendered = render_chart(export_helm(spec, IMAGE, namespace="prod").files)
    for obj in rendered:
        validate(obj)
    assert rendered == manifests(spec, IMAGE, namespace="prod")


def test_changing_the_values_changes_image_replicas_and_hosts() -> None:
    files = export_helm(spec_of(), IMAGE).files
    rendered = render_chart(
        files,
        image="registry.test/shop:v8",
        replicas={"web": 5, "worker-2": 0, "clock": 1},
        domains=["a.example.com", "b.example.com", "c.example.com"],
    )
    for obj in rendered:
        validate(obj)
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"] for o in rendered if o["kind"] == "Deployment"
    }
    assert replicas == {"shop-web": 5, "shop-worker-2": 0, "shop-clock": 1}
    ingress = next(o for o in rendered if o["kind"] == "Ingress")
    assert [r["host"] for r in ingress["spec"]["rules"]] == [
        "a.example.com",
        "b.example.com",
        "c.example.com",
    ]
    images = {
        c["image"]
        for o in rendered
        if o["kind"] in ("Deployment", "Job")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.test/shop:v8"}


def test_config_that_looks_like_a_template_stays_literal() -> None:
    spec = spec_of()
    assert "{{" in spec.config["SECRET_KEY"]
    secret = render_chart(export_helm(spec, IMAGE).files)[0]
    assert secret["stringData"] == spec.config


def test_the_chart_readme_installs_it_with_helm() -> None:
    result = export_helm(spec_of(), IMAGE, namespace="prod", directory="chart-shop")
    assert result.deploy == [
        "helm upgrade --install shop chart-shop -n prod --create-namespace --wait"
    ]
    assert result.deploy[0] in result.files["README.md"]
    assert result.private == {"templates/00-secret-shop-env-v7.yaml"}
