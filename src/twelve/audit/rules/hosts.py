"""III Config: host names of one deploy written in code.

``ALLOWED_HOSTS``, ``BASE_URL``-style names with a public DNS name; CORS and CSRF origins, OAuth
callbacks and ``SERVER_NAME`` with any host, ``localhost`` included (a front end on localhost is one
developer's deploy); API base URLs on ``localhost``, an IP address or a PaaS host; any URL to a raw
IP address; and front-end calls (``fetch``, ``io``, ``axios``) to ``localhost`` or an IP address.
A value that is a fallback of an environment read (a settings-class field default included), a name
also set from configuration elsewhere in the module, development or test settings modules, and the
base URL of another company's API (``PAYMENTS_BASE_URL``, a host named like the client module that
calls it) are fine: that URL is the same in every deploy.
"""

from __future__ import annotations

import ast
import os
import re
from urllib.parse import urlsplit

from tree_sitter import Node

from twelve.audit.jsindex import JsIndex, string_value, text
from twelve.audit.pyindex import PyIndex, settings_class_lines, str_value
from twelve.audit.rules.backing import LOCAL_HOSTS
from twelve.audit.scan import Scan, per_file
from twelve.audit.secretish import words

DEPLOY_HOST = "config.hardcoded-deploy-host"

_HOSTNAME = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]+$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1"})
_PAAS = (
    ".herokuapp.com",
    ".netlify.app",
    ".vercel.app",
    ".onrender.com",
    ".fly.dev",
    ".railway.app",
    ".ngrok.io",
    ".pythonanywhere.com",
    ".azurewebsites.net",
    ".appspot.com",
)
_DEV_STEMS = frozenset({"dev", "development", "local", "test", "tests", "testing", "debug", "ci"})
_CALLS = frozenset(
    {"fetch", "io", "axios", "axios.get", "axios.post", "axios.put", "axios.patch", "axios.delete"}
)
_NEW_CALLS = frozenset({"WebSocket", "EventSource"})


def host_of(value: str) -> str:
    """The host of a URL or ``host[:port]`` value, lower-cased; empty when there is none."""
    try:
        host = urlsplit(value).hostname if "://" in value else value.split(":", maxsplit=1)[0]
    except ValueError:
        return ""
    return (host or "").lstrip(".").lower()


def public_host(value: str) -> bool:
    """A DNS name of a deploy: not a sentence, an IP address or a local name."""
    host = host_of(value)
    return (
        bool(_HOSTNAME.match(host))
        and not _IPV4.match(host)
        and host not in LOCAL_HOSTS
        and not host.endswith(".localhost")
    )


def _kind(name: str) -> str | None:
    """What a name holds: ``hosts`` (DNS names only), ``origins`` (any host), ``api`` or None."""
    parts = words(name)
    if not parts:
        return None
    tail = tuple(parts[-2:])
    if parts[-1] in {"origin", "origins", "whitelist", "allowlist"} or tail in {
        ("redirect", "uri"),
        ("redirect", "url"),
        ("callback", "url"),
        ("server", "name"),
    }:
        return "origins"
    if tail == ("api", "url") or parts[-3:] == ["api", "base", "url"]:
        return "api"
    if parts[-1] in {"hosts", "domain", "domains"} or tail in {
        ("base", "url"),
        ("site", "url"),
        ("app", "url"),
        ("public", "url"),
        ("allowed", "hosts"),
    }:
        return "hosts"
    return None


def _deploy_specific(kind: str | None, value: str) -> bool:
    host = host_of(value)
    if not host or not value.strip():
        return False
    is_url = "://" in value
    if is_url and _IPV4.match(host) and host not in _LOOPBACK and not host.startswith("169.254."):
        return True  # an address of one machine (not the link-local metadata service)
    if kind == "hosts":
        return public_host(value)
    if kind == "origins":
        return public_host(value) or (host in _LOOPBACK and (is_url or ":" in value))
    if kind == "api":
        return is_url and (host in _LOOPBACK or host.endswith(_PAAS))
    return False


# Words that make a base URL the app's own (``FRONTEND_BASE_URL``, ``NEXT_PUBLIC_BASE_URL``); any other
# qualifier names a service someone else runs (``PAYMENTS_BASE_URL``, ``OLLAMA_BASE_URL``).
_OWN_WORDS = frozenset(
    {
        "base",
        "url",
        "uri",
        "app",
        "site",
        "web",
        "website",
        "frontend",
        "front",
        "end",
        "client",
        "backend",
        "back",
        "server",
        "public",
        "absolute",
        "root",
        "home",
        "main",
        "my",
        "our",
        "project",
        "host",
        "prod",
        "production",
        "canonical",
        "default",
        "next",
        "react",
        "vite",
        "vue",
        "expo",
        "full",
    }
)
# Module names too generic to name a vendor.
_GENERIC_STEMS = frozenset(
    {
        "index",
        "api",
        "apis",
        "app",
        "config",
        "configs",
        "settings",
        "constants",
        "client",
        "server",
        "main",
        "utils",
        "util",
        "utilities",
        "helpers",
        "service",
        "services",
        "http",
        "request",
        "requests",
        "axios",
        "base",
        "url",
        "urls",
        "env",
        "common",
        "core",
        "www",
    }
)


_CONFIG_WORDS = frozenset({"config", "conf", "rc", "settings"})


def vendor_words(path: str) -> frozenset[str]:
    """Words of a module's name that could name a vendor (``fpt`` of ``fpt.service.js``).

    None for a tool's config file (``gatsby-config.js``): it names the tool it configures, and the
    URLs in it are the app's own.
    """
    parts = words(os.path.basename(path))
    if set(parts) & _CONFIG_WORDS:
        return frozenset()
    stem = os.path.basename(path).split(".")[0]
    return frozenset(w for w in words(stem) if len(w) >= 3 and w not in _GENERIC_STEMS)


def third_party(name: str, value: str, vendors: frozenset[str]) -> bool:
    """Another company's API: a base URL qualified by another service's name, or a host named like
    the module calling it (``stripe.js`` reaching ``api.stripe.com``)."""
    parts = words(name)
    if parts[-2:] in (["base", "url"], ["base", "uri"]) and set(parts[:-2]) - _OWN_WORDS:
        return True
    return any(vendor in organization(value) for vendor in vendors)


_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "ac", "edu"})


def organization(value: str) -> str:
    """The label naming who owns a host: ``stripe`` of ``api.stripe.com``, ``fpt`` of ``x.fpt.com.vn``."""
    labels = host_of(value).split(".")[:-1]
    if len(labels) > 1 and labels[-1] in _SECOND_LEVEL:
        labels.pop()
    return labels[-1] if labels else ""


def _dev_module(path: str) -> bool:
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    return stem in _DEV_STEMS or stem.endswith(("_dev", "_local", "_test"))


def _values(node: ast.expr) -> list[str]:
    items = node.elts if isinstance(node, ast.List | ast.Tuple | ast.Set) else [node]
    return [v for v in (str_value(i) for i in items) if v is not None]


def _configured_py(index: PyIndex) -> set[str]:
    """Names the module also sets from something other than literals (config, env, a loop)."""
    configured = set()
    for binding in index.bindings:
        literal = isinstance(binding.value, ast.Constant) or (
            isinstance(binding.value, ast.List | ast.Tuple | ast.Set)
            and all(isinstance(e, ast.Constant) for e in binding.value.elts)
        )
        if not literal:
            configured.add(binding.name)
    return configured


@per_file
def python_hosts(scan: Scan) -> None:
    for file, index in scan.python_files():
        if _dev_module(file.path):
            continue
        configured = _configured_py(index)
        vendors = vendor_words(file.path)
        # A settings class's field defaults are what the environment overrides: fallbacks.
        fields = settings_class_lines(index) if "Settings" in (file.text or "") else set()
        for binding in index.bindings:
            kind = _kind(binding.name)
            if id(binding.value) in index.fallback_ids or binding.name in configured:
                continue
            if binding.line in fields:
                continue
            if binding.kind == "kwarg" and kind != "origins":
                kind = None  # a keyword argument names a parameter, not a setting
            hosts = [
                h
                for h in _values(binding.value)
                if _deploy_specific(kind, h) and not third_party(binding.name, h, vendors)
            ]
            if hosts:
                scan.report(
                    DEPLOY_HOST,
                    file.path,
                    binding.line,
                    f"{binding.name} names the deploy host {hosts[0]!r} in code",
                )


_DEV_WORDS = frozenset({"dev", "development", "local", "test", "testing"})


def _dev_context(node: Node) -> bool:
    """Whether an enclosing declaration is named for development (``const devOrigin = {...}``)."""
    current: Node | None = node
    for _ in range(5):
        current = current.parent if current is not None else None
        if current is None:
            return False
        name = current.child_by_field_name("name") or current.child_by_field_name("key")
        if name is not None and set(words(text(name))) & _DEV_WORDS:
            return True
    return False


def _configured_js(js: JsIndex) -> set[str]:
    return {
        b.name for b in js.bindings if string_value(b.value) is None and b.value.type != "array"
    }


@per_file
def js_hosts(scan: Scan) -> None:
    for file, js in scan.js_files():
        configured = _configured_js(js)
        vendors = vendor_words(file.path)
        for jb in js.bindings:
            if jb.value.id in js.fallback_ids or (jb.kind == "assign" and jb.name in configured):
                continue
            kind = _kind(jb.name)
            items = jb.value.named_children if jb.value.type == "array" else [jb.value]
            hosts = [
                v
                for v in (string_value(i) for i in items)
                if v and _deploy_specific(kind, v) and not third_party(jb.name, v, vendors)
            ]
            if hosts and not _dev_context(jb.value):
                scan.report(
                    DEPLOY_HOST,
                    file.path,
                    jb.value.start_point[0] + 1,
                    f"{jb.name} names the deploy host {hosts[0]!r} in code",
                )
        for call in js.calls:
            known = call.callee in _NEW_CALLS if call.is_new else call.callee in _CALLS
            value = string_value(call.args[0]) if known and call.args else None
            host = host_of(value) if value and "://" in value else ""
            if host in _LOOPBACK or _IPV4.match(host):
                scan.report(
                    DEPLOY_HOST,
                    file.path,
                    call.line,
                    f"{call.callee}() calls the fixed host {host!r}",
                )


CHECKS = (python_hosts, js_hosts)
