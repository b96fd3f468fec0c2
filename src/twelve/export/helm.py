"""The same export as a Helm chart: values hold the image, replicas per process type and domains."""

from __future__ import annotations

import yaml

from twelve.export.kubernetes import Export, export_kubernetes, file_name, manifests
from twelve.export.names import invalid_env_names, label_mapping
from twelve.export.spec import ReleaseSpec

_IMAGE = "__TWELVE_IMAGE__"
_REPLICAS_BASE = 7_000_000  # sentinel integers, one per process type, swapped for templates


def export_helm(spec: ReleaseSpec, image: str, namespace: str | None = None) -> Export:
    """``Chart.yaml``, ``values.yaml`` and ``templates/`` (plus the Dockerfile), as files."""
    labels = label_mapping(spec.process_types)
    sentinels = {kind: _REPLICAS_BASE + i for i, kind in enumerate(spec.process_types)}
    templated = ReleaseSpec(**{**spec.__dict__, "formation": sentinels})
    objects = manifests(templated, _IMAGE, namespace)
    hosts = [*spec.domains] or [f"{spec.app}.{spec.platform_domain}"]
    files: dict[str, str] = {}
    for index, obj in enumerate(objects):
        text = yaml.safe_dump(obj, sort_keys=False).replace(_IMAGE, "{{ .Values.image }}")
        for kind, number in sentinels.items():
            text = text.replace(
                f"replicas: {number}",
                f"replicas: {{{{ .Values.replicas.{labels[kind].replace('-', '_')} }}}}",
            )
        for i, host in enumerate(hosts):
            text = text.replace(
                f"host: {host}\n", f"host: {{{{ index .Values.domains {i} | quote }}}}\n"
            )
        files[f"templates/{file_name(index, obj)}"] = text
    values = {
        "image": image,
        "replicas": {
            labels[k].replace("-", "_"): spec.formation.get(k, 0) for k in spec.process_types
        },
        "domains": hosts,
    }
    files["values.yaml"] = yaml.safe_dump(values, sort_keys=False)
    files["Chart.yaml"] = yaml.safe_dump(
        {
            "apiVersion": "v2",
            "name": spec.app,
            "description": f"{spec.app} {spec.label}, exported by twelve",
            "type": "application",
            "version": f"0.{spec.version}.0",
            "appVersion": spec.commit or spec.label,
        },
        sort_keys=False,
    )
    plain = export_kubernetes(spec, image, namespace)
    files["Dockerfile"] = plain.files["Dockerfile"]
    files[".dockerignore"] = plain.files[".dockerignore"]
    return Export(files, labels, invalid_env_names(spec.config), plain.secret_name)
