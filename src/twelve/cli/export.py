"""``export kubernetes``: manifests (or a Helm chart) and a Dockerfile from one release."""

from __future__ import annotations

from pathlib import Path

import click

from twelve.cli import output
from twelve.cli.common import app_option, client
from twelve.export.helm import export_helm
from twelve.export.kubernetes import export_kubernetes
from twelve.export.spec import release_from_document


@click.group("export")
def export() -> None:
    """Export an app to another engine."""


@export.command("kubernetes")
@app_option
@click.option("--release", "version", help="The release to export (default: the live one).")
@click.option("--image", required=True, help="The image the manifests name, REGISTRY/NAME:TAG.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), help="Directory.")
@click.option("--namespace", help="Namespace for every object.")
@click.option("--format", "fmt", type=click.Choice(["kubernetes", "helm"]), default="kubernetes")
def kubernetes(
    app: str, version: str | None, image: str, out_dir: Path | None, namespace: str | None, fmt: str
) -> None:
    """Write Kubernetes manifests and a Dockerfile that reproduce APP's release."""
    params = {"release": version} if version else {}
    spec = release_from_document(client().request("GET", f"/apps/{app}/export", params=params))
    render = export_helm if fmt == "helm" else export_kubernetes
    result = render(spec, image, namespace)
    target = out_dir or Path(f"k8s-{app}")
    for name, text in result.files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # The Secret manifests hold config values: keep them to their owner.
    for path in target.rglob("*secret*"):
        path.chmod(0o600)
    output.emit(f"Wrote {len(result.files)} files for {app} {spec.label} to {target}/")
    for kind, label in result.labels.items():
        if kind != label:
            output.emit(f"  process type {kind} is named {label} (a DNS label)")
    for key in result.skipped_keys:
        output.emit(f"  config key {key!r} is not a valid environment variable name: left out")
    output.emit("Build and push the image from the release's commit:")
    output.emit(f"  DOCKER_BUILDKIT=1 docker build -t {image} . && docker push {image}")
    if fmt == "helm":
        output.emit(f"Then: helm upgrade --install {app} {target}")
    else:
        output.emit(f"Then apply in order (see {target}/README.md): the release Job first.")


commands = [export]
