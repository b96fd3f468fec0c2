"""Release documents as ``GET /apps/{app}/export`` returns them, and what a test does with an export:
parse its YAML, validate it against the Kubernetes schemas offline, render a chart's templates."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate
import yaml

from twelve.build.plan import SourceFacts, plan_build
from twelve.export.spec import ReleaseSpec, release_from_document

# kubernetes-validate ships the JSON schemas of each Kubernetes version: no network needed.
K8S_VERSION = "1.37.0"
UV_PROJECT = SourceFacts(frozenset({"uv.lock", "pyproject.toml", "Procfile"}))


def build_runtime(
    facts: SourceFacts, python: str | None = "3.12.4", **extra: Any
) -> dict[str, Any]:
    """A build's runtime as build/runner.py records it: the plan's steps, unrendered."""
    plan = plan_build(facts)
    runtime: dict[str, Any] = {"builder": plan.builder, **extra}
    if python:
        runtime["python"] = python
    runtime["steps"] = [
        {"description": s.description, "argv": list(s.argv), "env": dict(s.env),
         "with_app_config": s.with_app_config}
        for s in plan.steps
    ]  # fmt: skip
    return runtime


def document(facts: SourceFacts = UV_PROJECT, **overrides: Any) -> dict[str, Any]:
    """A shop with a release phase, a web, a worker whose type is not a DNS label, a clock at 0."""
    doc: dict[str, Any] = {
        "app": "shop",
        "release": {
            "version": 7,
            "description": "Deploy 0123456",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "config": {
                "DATABASE_URL": "postgres://u:p@db/shop",
                "SECRET_KEY": "s3cret {{ not a template }}",
                "MULTI_LINE": "a\nb",
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


def spec_of(**overrides: Any) -> ReleaseSpec:
    return release_from_document(document(**overrides))


def yaml_objects(files: dict[str, str], under: str = "") -> list[dict[str, Any]]:
    """The objects of the manifest files, in file-name order (the apply order)."""
    return [
        yaml.safe_load(text)
        for name, text in sorted(files.items())
        if name.startswith(under) and name.endswith(".yaml") and "/" not in name[len(under) :]
    ]


def validate(obj: dict[str, Any]) -> None:
    """Fail unless ``obj`` is valid for Kubernetes (strict: unknown fields are errors too)."""
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


# A small Go-template evaluator for the constructs the exported chart uses: field paths, string
# literals, ``index``, ``quote``, ``range``/``end`` and the ``{{-``/``-}}`` trim markers.
_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position, trim_next = 0, False
    for match in _ACTION.finditer(text):
        chunk = text[position : match.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if match.group(1):
            chunk = chunk.rstrip()
        tokens += [("text", chunk), ("action", match.group(2))]
        position, trim_next = match.end(), bool(match.group(3))
    tail = text[position:]
    tokens.append(("text", tail.lstrip() if trim_next else tail))
    return tokens


def _value(term: str, values: dict[str, Any], dot: Any) -> Any:
    if term.startswith('"'):
        return json.loads(term)
    if term == ".":
        return dot
    if term.startswith(".Values"):
        value: Any = values
        for part in term.split(".")[2:]:
            value = value[part]
        return value
    raise AssertionError(f"the chart uses {term!r}, which this evaluator does not know")


def _evaluate(expression: str, values: dict[str, Any], dot: Any) -> Any:
    command, *filters = [part.strip() for part in expression.split("|")]
    words = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', command)
    if words[0] == "index":
        result = _value(words[1], values, dot)
        for key in words[2:]:
            result = result[_value(key, values, dot)]
    else:
        assert len(words) == 1, f"unknown template expression {expression!r}"
        result = _value(words[0], values, dot)
    for name in filters:
        assert name == "quote", f"unknown template function {name!r}"
        result = json.dumps(str(result))
    return result


def render_template(text: str, values: dict[str, Any]) -> str:
    tokens = _tokens(text)

    def run(start: int, dot: Any, out: list[str]) -> int:
        index = start
        while index < len(tokens):
            kind, body = tokens[index]
            if kind == "text":
                out.append(body)
            elif body == "end":
                return index
            elif body.startswith("range "):
                end = index
                for item in _evaluate(body[6:], values, dot):
                    end = run(index + 1, item, out)
                if end == index:  # an empty list: skip to the matching end
                    end = run(index + 1, None, [])
                index = end
            else:
                out.append(str(_evaluate(body, values, dot)))
            index += 1
        return index

    out: list[str] = []
    run(0, None, out)
    return "".join(out)


def render_chart(files: dict[str, str], **value_overrides: Any) -> list[dict[str, Any]]:
    """What ``helm template`` gives for the chart's templates, with the values file plus overrides."""
    values = {**yaml.safe_load(files["values.yaml"]), **value_overrides}
    return [
        yaml.safe_load(render_template(text, values))
        for name, text in sorted(files.items())
        if name.startswith("templates/")
    ]
