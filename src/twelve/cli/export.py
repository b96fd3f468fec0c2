"""``export kubernetes``: manifests (or a Helm chart) and a Dockerfile from one release."""

from __future__ import annotations

import os
from pathlib import Path

import click

from twelve.cli import output
from twelve.cli.common import app_option, client
from twelve.errors import UsageError
from twelve.export.helm import export_helm
from twelve.export.kubernetes import Export, export_kubernetes
from twelve.export.spec import release_from_document


@click.group("export")
def export() -> None:
    """Export an app to another engine."""


@export.command("kubernetes")
@app_option
@click.option(
    "--release", "version", help="The release to export, e.g. v7 (default: the live one)."
)
@click.option("--image", required=True, help="The image the manifests name, REGISTRY/NAME:TAG.")
@click.option(
    "-o", "--output", "out_dir", type=click.Path(path_type=Path), help="Directory (./k8s-APP)."
)
@click.option("--namespace", help="Namespace for every object.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["kubernetes", "helm"]),
    default="kubernetes",
    show_default=True,
    help="Plain manifests, or a Helm chart.",
)
def kubernetes(
    app: str, version: str | None, image: str, out_dir: Path | None, namespace: str | None, fmt: str
) -> None:
    """Write Kubernetes manifests and a Dockerfile that reproduce APP's release."""
    target = out_dir or Path(f"k8s-{app}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        # Files of an earlier export would be applied with this one (an old release's Job).
        raise UsageError(
            f"{target} already exists and is not empty", "remove it or pick another -o"
        )
    params = {"release": version} if version else {}
    spec = release_from_document(client().request("GET", f"/apps/{app}/export", params=params))
    render = export_helm if fmt == "helm" else export_kubernetes
    result = render(spec, image, namespace, str(target.absolute()))
    _write(target, result)
    output.emit(f"Wrote {len(result.files)} files for {app} {spec.label} to {target}/")
    for kind, label in result.labels.items():
        if kind != label:
            output.emit(f"  process type {kind} is named {label} (a DNS label)")
    for key in result.not_env_names:
        output.emit(f"  config key {key!r} is not a valid environment variable name")
    for key in result.left_out:
        output.emit(f"  config key {key!r} cannot be a Secret key: left out")
    output.emit("Build and push the image, in the app's source:")
    for command in result.build:
        output.emit(f"  {command}")
    output.emit("Then deploy, in this order:" if fmt == "kubernetes" else "Then install it:")
    for command in result.deploy:
        output.emit(f"  {command}")


def _write(target: Path, result: Export) -> None:
    for name, text in result.files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Files that hold config values are their owner's alone from the moment they exist.
        mode = 0o600 if name in result.private else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)


commands = [export]
