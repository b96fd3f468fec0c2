"""Kubernetes manifests from one release: the same build, config, process types, release phase and
shutdown contract the app had on twelve. Pure: objects as data, files as text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

from twelve.export.dockerfile import DOCKERIGNORE, render_dockerfile
from twelve.export.names import dns_label, invalid_env_names, label_mapping
from twelve.export.spec import ReleaseSpec

PORT = 5000
PRESTOP_SECONDS = 5  # time for endpoints to drop the pod before it gets SIGTERM
RELEASE_TIMEOUT = 1800


@dataclass(frozen=True)
class Export:
    """What an export produced: files, the process type → label mapping, and what it left out."""

    files: dict[str, str]
    labels: dict[str, str]
    skipped_keys: list[str]
    secret_name: str


def _meta(name: str, spec: ReleaseSpec, namespace: str | None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {
            "app.kubernetes.io/name": dns_label(spec.app),
            "app.kubernetes.io/managed-by": "twelve",
            "twelve/release": spec.label,
        },
    }
    if namespace:
        meta["namespace"] = namespace
    for key, value in extra.items():
        meta[key] = value
    return meta


def _env(spec: ReleaseSpec, kind: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "DYNO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "TWELVE_APP", "value": spec.app},
        {"name": "TWELVE_RELEASE", "value": spec.label},
        {"name": "SOURCE_VERSION", "value": spec.commit or ""},
    ]
    if kind == "web":
        env.insert(0, {"name": "PORT", "value": str(PORT)})
    return env


def _container(spec: ReleaseSpec, kind: str, image: str, secret: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": dns_label(kind, 63),
        "image": image,
        "command": ["/bin/sh", "-c", spec.procfile[kind]],
        "envFrom": [{"secretRef": {"name": secret}}],
        "env": _env(spec, kind),
    }
    limits = spec.limits.get(kind) or {}
    resources: dict[str, str] = {}
    if limits.get("memory"):
        resources["memory"] = f"{int(limits['memory']) // (1 << 20)}Mi"
    if limits.get("cpu"):
        resources["cpu"] = f"{int(float(limits['cpu']) * 1000)}m"
    if resources:
        container["resources"] = {"requests": resources, "limits": resources}
    return container


def _deployment(
    spec: ReleaseSpec, kind: str, label: str, image: str, secret: str, ns: str | None
) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": dns_label(spec.app), "twelve/process-type": label}
    container = _container(spec, kind, image, secret)
    container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_SECONDS)]}}}
    if kind == "web":
        container["ports"] = [{"name": "http", "containerPort": PORT}]
        container["startupProbe"] = {
            "tcpSocket": {"port": PORT},
            "periodSeconds": 1,
            "failureThreshold": max(1, math.ceil(spec.boot_timeout)),
        }
        if spec.healthcheck_path:
            ready: dict[str, Any] = {"httpGet": {"path": spec.healthcheck_path, "port": PORT}}
        else:
            ready = {"tcpSocket": {"port": PORT}}
        container["readinessProbe"] = {**ready, "periodSeconds": 1, "timeoutSeconds": 5}
    meta = _meta(f"{dns_label(spec.app)}-{label}", spec, ns)
    meta["labels"]["twelve/process-type"] = label
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": spec.formation.get(kind, 0),
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": {**selector, "twelve/release": spec.label}},
                "spec": {
                    "terminationGracePeriodSeconds": math.ceil(spec.stop_timeout) + PRESTOP_SECONDS,
                    "containers": [container],
                },
            },
        },
    }


def _job(
    spec: ReleaseSpec, name: str, command: str, image: str, secret: str, ns: str | None, hook: str
) -> dict[str, Any]:
    annotations = {
        "helm.sh/hook": hook,
        "helm.sh/hook-weight": "0",
        "helm.sh/hook-delete-policy": "before-hook-creation",
    }
    container = {
        "name": "release" if "release" in name else "postdeploy",
        "image": image,
        "command": ["/bin/sh", "-c", command],
        "envFrom": [{"secretRef": {"name": secret}}],
        "env": _env(spec, "release"),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, spec, ns, annotations=annotations),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": RELEASE_TIMEOUT,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


def manifests(spec: ReleaseSpec, image: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every object, in the order they are applied: Secret, release Job, Deployments, Service,
    Ingress, postdeploy Job."""
    app = dns_label(spec.app)
    secret = f"{app}-env-{spec.label}"
    skipped = set(invalid_env_names(spec.config))
    labels = label_mapping(spec.process_types)
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(secret, spec, namespace),
            "type": "Opaque",
            "immutable": True,
            "stringData": {k: v for k, v in spec.config.items() if k not in skipped},
        }
    ]
    if "release" in spec.procfile:
        name = f"{app}-release-{spec.label}"
        hook = "pre-install,pre-upgrade"
        objects.append(_job(spec, name, spec.procfile["release"], image, secret, namespace, hook))
    for kind in spec.process_types:
        objects.append(_deployment(spec, kind, labels[kind], image, secret, namespace))
    if "web" in spec.procfile:
        selector = {"app.kubernetes.io/name": app, "twelve/process-type": labels["web"]}
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(f"{app}-web", spec, namespace),
                "spec": {
                    "selector": selector,
                    "ports": [{"name": "http", "port": 80, "targetPort": PORT}],
                },
            }
        )
        hosts = [*spec.domains] or [f"{spec.app}.{spec.platform_domain}"]
        backend = {"service": {"name": f"{app}-web", "port": {"number": 80}}}
        path = {"path": "/", "pathType": "Prefix", "backend": backend}
        objects.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": _meta(app, spec, namespace),
                "spec": {"rules": [{"host": h, "http": {"paths": [path]}} for h in hosts]},
            }
        )
    if spec.postdeploy:
        name = f"{app}-postdeploy"
        objects.append(_job(spec, name, spec.postdeploy, image, secret, namespace, "post-install"))
    return objects


def file_name(index: int, obj: dict[str, Any]) -> str:
    return f"{index:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def readme(spec: ReleaseSpec, image: str, names: list[str], labels: dict[str, str]) -> str:
    renamed = [f"- `{k}` → `{v}`" for k, v in labels.items() if k != v]
    lines = [
        f"# {spec.app} {spec.label} on Kubernetes",
        "",
        "Build and push the image from the app's source at the release's commit:",
        "",
        "```sh",
        f"git checkout {spec.commit or 'HEAD'}",
        f"DOCKER_BUILDKIT=1 docker build -t {image} .",
        f"docker push {image}",
        "```",
        "",
        "Apply in this order (the release Job must succeed before the Deployments roll):",
        "",
        "```sh",
        *(f"kubectl apply -f {n}" for n in names if "job" not in n or "release" in n),
        "```",
        "",
        "Wait for the release Job (`kubectl wait --for=condition=complete job/...`) before the",
        "Deployments; with Helm (`--format helm`) the hook annotations do this for you.",
    ]
    if renamed:
        lines += ["", "Process types renamed to valid DNS labels:", *renamed]
    return "\n".join(lines) + "\n"


def export_kubernetes(spec: ReleaseSpec, image: str, namespace: str | None = None) -> Export:
    """The files of a Kubernetes export: manifests, Dockerfile, .dockerignore and README.md."""
    objects = manifests(spec, image, namespace)
    files: dict[str, str] = {}
    names = []
    for index, obj in enumerate(objects):
        name = file_name(index, obj)
        names.append(name)
        files[name] = yaml.safe_dump(obj, sort_keys=False)
    labels = label_mapping(spec.process_types)
    files["Dockerfile"] = render_dockerfile(spec)
    files[".dockerignore"] = DOCKERIGNORE
    files["README.md"] = readme(spec, image, names, labels)
    secret = objects[0]["metadata"]["name"]
    return Export(files, labels, invalid_env_names(spec.config), secret)
