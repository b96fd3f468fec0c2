"""The same export as a Helm chart: values hold the image, replicas per process type and domains.

The templates are the plain manifests with three things made values; everything else (the
Secret, the Jobs and their hooks, probes, the shutdown contract) is the same objects.
"""

from __future__ import annotations

import dataclasses
import shlex

import yaml

from twelve.export.instructions import HELM_NOTE, build_commands, readme
from twelve.export.kubernetes import Export, Names, file_name, hosts, manifests, support_files
from twelve.export.names import invalid_env_names, invalid_secret_keys
from twelve.export.spec import ReleaseSpec

_IMAGE = "__twelve_image__"
_HOST = "__twelve_host__"
_REPLICAS_BASE = 7_000_000  # sentinel counts, one per process type, swapped for templates

HELMIGNORE = """Dockerfile
Dockerfile.dockerignore
.dockerignore
app-config.json
"""


def _template(text: str, replicas: dict[int, str]) -> str:
    """One manifest's YAML with the sentinels turned into template expressions."""
    # Anything in the release that looks like a template (a config value) stays literal.
    text = text.replace("{{", '{{ "{{" }}')
    text = text.replace(_IMAGE, "{{ .Values.image | quote }}")
    for number, label in replicas.items():
        text = text.replace(
            f"replicas: {number}\n", f'replicas: {{{{ index .Values.replicas "{label}" }}}}\n'
        )
    host_line = f"  - host: {_HOST}\n"
    if host_line in text:
        # The rule is the last thing in an Ingress: repeat it once per domain.
        head, rule = text.split(host_line)
        rule = rule.rstrip("\n")
        text = (
            f"{head}  {{{{- range .Values.domains }}}}\n"
            f"  - host: {{{{ . | quote }}}}\n{rule}\n  {{{{- end }}}}\n"
        )
    return text


def export_helm(
    spec: ReleaseSpec, image: str, namespace: str | None = None, directory: str | None = None
) -> Export:
    """``Chart.yaml``, ``values.yaml``, ``templates/`` and the Dockerfile, as files."""
    where = directory or f"k8s-{spec.app}"
    names = Names.of(spec)
    sentinels = {kind: _REPLICAS_BASE + i for i, kind in enumerate(spec.process_types)}
    templated = dataclasses.replace(spec, formation=sentinels, domains=(_HOST,))
    replicas = {number: names.labels[kind] for kind, number in sentinels.items()}
    files: dict[str, str] = {}
    objects = manifests(templated, _IMAGE, namespace)
    for index, obj in enumerate(objects):
        text = yaml.safe_dump(obj, sort_keys=False)
        files[f"templates/{file_name(index, obj)}"] = _template(text, replicas)
    values = {
        "image": image,
        "replicas": {names.labels[k]: spec.formation.get(k, 0) for k in spec.process_types},
        "domains": hosts(spec),
    }
    files["values.yaml"] = yaml.safe_dump(values, sort_keys=False)
    files["Chart.yaml"] = yaml.safe_dump(
        {
            "apiVersion": "v2",
            "name": names.app,
            "description": f"{spec.app} {spec.label}, exported by twelve",
            "type": "application",
            "version": f"0.{spec.version}.0",
            "appVersion": spec.commit or spec.label,
        },
        sort_keys=False,
    )
    files[".helmignore"] = HELMIGNORE
    files.update(support_files(spec, where))
    build = build_commands(spec, image, where)
    ns = f" -n {shlex.quote(namespace)} --create-namespace" if namespace else ""
    deploy = [f"helm upgrade --install {names.app} {shlex.quote(where)}{ns} --wait"]
    files["README.md"] = readme(spec, build, deploy, names.labels, HELM_NOTE)
    secret_template = f"templates/{file_name(0, objects[0])}"
    return Export(
        files=files,
        labels=names.labels,
        not_env_names=invalid_env_names(spec.config),
        left_out=invalid_secret_keys(spec.config),
        secret_name=names.secret,
        private=frozenset({secret_template, "app-config.json"} & files.keys()),
        build=build,
        deploy=deploy,
    )
