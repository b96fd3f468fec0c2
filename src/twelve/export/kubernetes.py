"""Kubernetes manifests from one release: the same build, config, process types, release phase and
shutdown contract the app had on twelve. Pure: objects as data, files as text."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from twelve.export.dockerfile import (
    CONFIG_FILE,
    build_config_file,
    dockerignore,
    dyno_defaults,
    needs_app_config,
    render_dockerfile,
)
from twelve.export.instructions import build_commands, deploy_commands, readme
from twelve.export.names import dns_label, invalid_env_names, invalid_secret_keys, label_mapping
from twelve.export.spec import ReleaseSpec

PORT = 5000
PRESTOP_SECONDS = 5  # time for endpoints to drop the pod before it gets SIGTERM
RELEASE_TIMEOUT = 1800
# Helm runs hooks of lower weight first: the Secret must exist before the release Job reads it.
CONFIG_HOOK_WEIGHT = "-10"
JOB_HOOK_WEIGHT = "0"


@dataclass(frozen=True)
class Export:
    """What an export produced: files by relative path, and what a user must be told."""

    files: dict[str, str]
    labels: dict[str, str]  # process type → DNS label
    not_env_names: list[str]  # config keys kept in the Secret that are not portable env names
    left_out: list[str]  # config keys a Secret cannot hold
    secret_name: str
    private: frozenset[str] = field(default_factory=frozenset)  # files that hold config values
    build: list[str] = field(default_factory=list)  # commands that build and push the image
    deploy: list[str] = field(default_factory=list)  # commands that apply it, in order


@dataclass(frozen=True)
class Names:
    """Every name an export uses, derived once from the release."""

    app: str
    secret: str
    release_job: str
    postdeploy_job: str
    service: str
    labels: dict[str, str]

    @classmethod
    def of(cls, spec: ReleaseSpec) -> Names:
        app = dns_label(spec.app)
        return cls(
            app=app,
            secret=f"{app}-env-{spec.label}",
            release_job=f"{app}-release-{spec.label}",
            postdeploy_job=f"{app}-postdeploy",
            service=f"{app}-web",
            labels=label_mapping(spec.process_types),
        )

    def deployment(self, kind: str) -> str:
        return f"{self.app}-{self.labels[kind]}"


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
    meta.update(extra)
    return meta


def _hook(when: str, weight: str) -> dict[str, str]:
    return {
        "helm.sh/hook": when,
        "helm.sh/hook-weight": weight,
        "helm.sh/hook-delete-policy": "before-hook-creation",
    }


def _env(spec: ReleaseSpec, kind: str) -> list[dict[str, Any]]:
    """The platform's variables (supervisor/environment.py); they win over the config's."""
    env: list[dict[str, Any]] = [
        {"name": "DYNO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "TWELVE_APP", "value": spec.app},
        {"name": "TWELVE_RELEASE", "value": spec.label},
        {"name": "SOURCE_VERSION", "value": spec.commit or ""},
    ]
    if kind == "web":
        env.insert(0, {"name": "PORT", "value": str(PORT)})
    # The image's defaults are sized for web; a type with other limits gets its own sizes, unless
    # the config sets them (a container's env would override the config's Secret).
    in_image = dyno_defaults(spec)
    for name, value in dyno_defaults(spec, kind).items():
        if value != in_image.get(name) and name not in spec.config:
            env.append({"name": name, "value": value})
    return env


def _resources(spec: ReleaseSpec, kind: str) -> dict[str, Any] | None:
    """``ps:limits`` as requests equal to limits (memory in bytes, cpu in cores)."""
    limits = spec.limits.get(kind) or {}
    resources: dict[str, str] = {}
    memory = int(limits.get("memory") or 0)
    if memory:
        mib = 1 << 20
        resources["memory"] = f"{memory // mib}Mi" if memory % mib == 0 else str(memory)
    cpu = float(limits.get("cpu") or 0)
    if cpu:
        resources["cpu"] = f"{max(1, round(cpu * 1000))}m"
    return {"requests": resources, "limits": dict(resources)} if resources else None


def _container(spec: ReleaseSpec, name: str, command: str, image: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["/bin/sh", "-c", command],
        "envFrom": [{"secretRef": {"name": Names.of(spec).secret}}],
        "env": _env(spec, kind),
    }


def _deployment(spec: ReleaseSpec, kind: str, image: str, ns: str | None) -> dict[str, Any]:
    names = Names.of(spec)
    label = names.labels[kind]
    selector = {"app.kubernetes.io/name": names.app, "twelve/process-type": label}
    container = _container(spec, label, spec.procfile[kind], image, kind)
    resources = _resources(spec, kind)
    if resources:
        container["resources"] = resources
    # twelve takes a process out of the router, drains, then sends SIGTERM: the pause lets the
    # endpoints controller and ingress drop the pod before the process hears of its end.
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
        container["readinessProbe"] = {**ready, "periodSeconds": 5, "timeoutSeconds": 5}
    meta = _meta(names.deployment(kind), spec, ns)
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
                    # SIGKILL comes stop_timeout after SIGTERM, as on twelve; the pause comes first.
                    "terminationGracePeriodSeconds": math.ceil(spec.stop_timeout) + PRESTOP_SECONDS,
                    "containers": [container],
                },
            },
        },
    }


def _job(
    spec: ReleaseSpec,
    name: str,
    container: str,
    command: str,
    image: str,
    ns: str | None,
    hook: str,
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, spec, ns, annotations=_hook(hook, JOB_HOOK_WEIGHT)),
        "spec": {
            # A failed release phase is not retried on twelve either: the old release stays.
            "backoffLimit": 0,
            "activeDeadlineSeconds": RELEASE_TIMEOUT,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": dns_label(spec.app)}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [_container(spec, container, command, image, container)],
                },
            },
        },
    }


def _secret(spec: ReleaseSpec, ns: str | None) -> dict[str, Any]:
    left_out = set(invalid_secret_keys(spec.config))
    annotations = _hook("pre-install,pre-upgrade", CONFIG_HOOK_WEIGHT)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(Names.of(spec).secret, spec, ns, annotations=annotations),
        "type": "Opaque",
        # A release's config never changes: a new config is a new release and a new Secret.
        "immutable": True,
        "stringData": {k: v for k, v in spec.config.items() if k not in left_out},
    }


def _web(spec: ReleaseSpec, ns: str | None) -> list[dict[str, Any]]:
    names = Names.of(spec)
    selector = {"app.kubernetes.io/name": names.app, "twelve/process-type": names.labels["web"]}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(names.service, spec, ns),
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": PORT}]},
    }
    backend = {"service": {"name": names.service, "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(names.app, spec, ns),
        "spec": {"rules": [{"host": h, "http": {"paths": [path]}} for h in hosts(spec)]},
    }
    return [service, ingress]


def hosts(spec: ReleaseSpec) -> list[str]:
    """The Ingress's hosts: the app's domains, else its name under the platform's domain."""
    return [*spec.domains] or [f"{spec.app}.{spec.platform_domain}"]


def manifests(spec: ReleaseSpec, image: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every object, in the order they are applied: Secret, release Job, Deployments, Service,
    Ingress, postdeploy Job."""
    names = Names.of(spec)
    objects = [_secret(spec, namespace)]
    if "release" in spec.procfile:
        command = spec.procfile["release"]
        hook = "pre-install,pre-upgrade"
        objects.append(_job(spec, names.release_job, "release", command, image, namespace, hook))
    objects += [_deployment(spec, kind, image, namespace) for kind in spec.process_types]
    if "web" in spec.procfile:
        objects += _web(spec, namespace)
    if spec.postdeploy:
        # twelve runs app.json's postdeploy once, after the first release: Helm's post-install.
        job = _job(
            spec,
            names.postdeploy_job,
            "postdeploy",
            spec.postdeploy,
            image,
            namespace,
            "post-install",
        )
        objects.append(job)
    return objects


def file_name(index: int, obj: dict[str, Any]) -> str:
    return f"{index:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def support_files(spec: ReleaseSpec, directory: str) -> dict[str, str]:
    """The Dockerfile, its ignore file (beside it, as BuildKit reads it, and for the source's
    root), and the build-time config when a build step needs it."""
    files = {
        "Dockerfile": render_dockerfile(spec),
        "Dockerfile.dockerignore": dockerignore(directory),
        ".dockerignore": dockerignore(directory),
    }
    if needs_app_config(spec):
        files[CONFIG_FILE] = build_config_file(spec)
    return files


def export_kubernetes(
    spec: ReleaseSpec, image: str, namespace: str | None = None, directory: str | None = None
) -> Export:
    """The files of a Kubernetes export: manifests, Dockerfile, .dockerignore and README.md.

    ``directory`` is where the files will be written, as the printed commands should name it."""
    where = directory or f"k8s-{spec.app}"
    names = Names.of(spec)
    objects = manifests(spec, image, namespace)
    manifest_files = {
        file_name(i, obj): yaml.safe_dump(obj, sort_keys=False) for i, obj in enumerate(objects)
    }
    secret_file = file_name(0, objects[0])
    files = {**manifest_files, **support_files(spec, where)}
    build = build_commands(spec, image, where)
    deploy = deploy_commands(
        list(manifest_files),
        directory=where,
        namespace=namespace,
        release_job=names.release_job if "release" in spec.procfile else None,
        deployments=[names.deployment(kind) for kind in spec.process_types],
        postdeploy_job=names.postdeploy_job if spec.postdeploy else None,
    )
    files["README.md"] = readme(spec, build, deploy, names.labels)
    private = frozenset({secret_file} | ({CONFIG_FILE} & files.keys()))
    return Export(
        files=files,
        labels=names.labels,
        not_env_names=invalid_env_names(spec.config),
        left_out=invalid_secret_keys(spec.config),
        secret_name=names.secret,
        private=private,
        build=build,
        deploy=deploy,
    )
