"""`twelve export kubernetes` writes, from a deployed release, files that validate and match it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from support import EXAMPLES, Daemon

pytestmark = pytest.mark.slow


def test_a_deployed_release_exports_to_manifests_a_chart_and_a_dockerfile(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("config:set", "-a", "hello", "GREETING=hi")
    d.cli("deploy", "-a", "hello", str(EXAMPLES / "hello-python"))
    d.cli("ps:scale", "-a", "hello", "worker=2")
    out_dir = tmp_path / "k8s"
    printed = d.cli(
        "export",
        "kubernetes",
        "-a",
        "hello",
        "--image",
        "registry.test/hello:v2",
        "-o",
        str(out_dir),
    ).stdout
    assert "docker build -t registry.test/hello:v2" in printed
    objects = [yaml.safe_load(p.read_text()) for p in sorted(out_dir.glob("*.yaml"))]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.37.0", strict=True)
    secret = objects[0]
    assert (
        secret["stringData"] == {"GREETING": "hi"} and secret["metadata"]["name"] == "hello-env-v1"
    )
    assert (out_dir / "00-secret-hello-env-v1.yaml").stat().st_mode & 0o077 == 0
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"] for o in objects if o["kind"] == "Deployment"
    }
    assert replicas == {"hello-web": 1, "hello-worker": 2}
    dockerfile = (out_dir / "Dockerfile").read_text()
    assert "uv" in dockerfile and "requirements.txt" in dockerfile

    chart = tmp_path / "chart"
    d.cli(
        "export",
        "kubernetes",
        "-a",
        "hello",
        "--image",
        "i:1",
        "--format",
        "helm",
        "-o",
        str(chart),
    )
    assert yaml.safe_load((chart / "values.yaml").read_text())["replicas"] == {
        "web": 1,
        "worker": 2,
    }
    missing = d.cli(
        "export", "kubernetes", "-a", "hello", "--image", "i:1", "--release", "v9", check=False
    )
    assert missing.returncode == 1 and "no release v9" in missing.stderr
