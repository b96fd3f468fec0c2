"""Shapes met in real code (Django, Celery, Ghost, Wagtail) that once were, or could be, misjudged."""

from __future__ import annotations

import pytest

from twelve.audit.secretish import plausible_secret
from unit.audit.helpers import check, rules

BASE = {"requirements.txt": "", "Procfile": "web: gunicorn app:app\n"}


def found(code: str, rule: str, path: str = "app.py") -> list[int]:
    return [
        line for r, p, line in rules(check(dict(BASE, **{path: code}))) if r == rule and p == path
    ]


@pytest.mark.parametrize(
    "value", ["true", "_password_reset_token", "set-password", "members", "string"]
)
def test_labels_and_key_names_are_not_secrets(value: str) -> None:
    """Django's INTERNAL_RESET_SESSION_TOKEN names a session key; Ghost maps setting keys to groups."""
    assert not plausible_secret(value)


def test_a_known_placeholder_word_is_still_reported() -> None:
    assert plausible_secret("changeme")
    assert found('SESSION_SECRET = "changeme"\n', "config.hardcoded-secret") == [1]


def test_sentences_and_ip_addresses_are_not_deploy_hosts() -> None:
    code = (
        'REASON_BAD_ORIGIN = "Origin checking failed - %s does not match any trusted origins."\n'
        'AZURE_BASE_URL = "http://169.254.169.254/metadata/identity/oauth2/token?"\n'
        'SITE_URL = "https://shop.example.org"\n'
    )
    assert found(code, "config.hardcoded-deploy-host") == [3]


def test_a_template_context_debug_key_is_not_debug_mode() -> None:
    """Django's context processor sets context["debug"]; only DEBUG settings and app.debug count."""
    code = (
        'def debug(request):\n    extras = {}\n    extras["debug"] = True\n    app.debug = True\n'
    )
    assert found(code, "config.debug-hardcoded") == [4]


def test_an_empty_media_root_stores_nothing() -> None:
    assert found('MEDIA_ROOT = ""\n', "storage.local-uploads") == []


def test_a_daemon_context_needs_python_daemon() -> None:
    """Celery defines its own DaemonContext for `celery multi`; only python-daemon's counts."""
    assert found("def detach():\n    return DaemonContext()\n", "process.daemonize") == []
    assert found("from daemon import DaemonContext\nDaemonContext()\n", "process.daemonize") == [2]


def test_node_code_is_judged_against_the_nearest_package_json() -> None:
    """A theme with its own package.json declares its own build tools."""
    files = dict(
        BASE,
        **{
            "package.json": '{"dependencies": {"express": "4"}}',
            "package-lock.json": None,
            "themes/casper/package.json": '{"devDependencies": {"gulp": "4"}}',
            "themes/casper/gulpfile.js": "const gulp = require('gulp');\nconst x = require('express');\n",
            "index.js": "const gulp = require('gulp');\n",
        },
    )
    found_ = [(p, line) for r, p, line in rules(check(files)) if r == "deps.undeclared-import"]
    assert found_ == [("index.js", 1), ("themes/casper/gulpfile.js", 2)]


def test_browser_scripts_need_no_package_json() -> None:
    files = dict(BASE, **{"werkzeug/debug/shared/debugger.js": "document.querySelector('x');\n"})
    assert [r for r, _, _ in rules(check(files))] == []


@pytest.mark.parametrize(
    "value",
    ["[-!#$%&'*+.^_`|~0-9a-zA-Z]+", r"(?P<tok>\w+)", "Password\x00", "********", "^[a-f0-9]{40}$"],
)
def test_patterns_masks_and_protocol_strings_are_not_secrets(value: str) -> None:
    """h11 and Pygments bind regexes to `token`; Starlette masks passwords as ********."""
    assert not plausible_secret(value)


def test_strings_that_mention_schemes_or_hold_regexes_are_not_service_urls() -> None:
    code = (
        'valid_schemes = "redis://, rediss://, unix://"\n'
        'parse(host="(\\\\[.*\\\\]|[^:@]*)")\n'
        'client = Redis(host="cache.internal")\n'
        'broker = "amqp://rabbit:5672//"\n'
    )
    assert found(code, "config.hardcoded-backing-service") == [3, 4]


def test_only_apscheduler_background_schedulers_count() -> None:
    """redis-py has its own BackgroundScheduler helper class."""
    assert found("x = BackgroundScheduler()\n", "process.in-process-scheduler") == []
    code = (
        "from apscheduler.schedulers.background import BackgroundScheduler\nBackgroundScheduler()\n"
    )
    assert found(code, "process.in-process-scheduler") == [2]


def test_optional_requires_and_benchmarks_are_not_undeclared() -> None:
    """debug's `try { require('supports-color') }` is optional; busboy's bench/ compares rivals."""
    files = dict(
        BASE,
        **{
            "package.json": '{"dependencies": {}}',
            "package-lock.json": None,
            "src/node.js": "try {\n  const c = require('supports-color');\n} catch (e) {}\nrequire('ms');\n",
            "bench/multipart.js": "const { Form } = require('multiparty');\n",
        },
    )
    assert [(r, p, n) for r, p, n in rules(check(files)) if r == "deps.undeclared-import"] == [
        ("deps.undeclared-import", "src/node.js", 4)
    ]


def test_fstrings_build_urls_from_config() -> None:
    """twelve's own add-on code builds redis URLs from parts; a whole literal URL still counts."""
    code = 'u = f"redis://default:{pw}@127.0.0.1:{port}/0"\nv = "redis://cache.internal:6379"\n'
    assert found(code, "config.hardcoded-backing-service") == [2]


def test_a_rule_id_is_not_a_secret() -> None:
    assert found('SECRET = "config.hardcoded-secret"\n', "config.hardcoded-secret") == []


def test_named_environment_files_in_tests_are_not_config() -> None:
    files = dict(BASE, **{"tests/config/staging.json": "{}", "config/staging.json": "{}"})
    assert [p for r, p, _ in rules(check(files)) if r == "config.named-environments"] == [
        "config/staging.json"
    ]


def test_an_elided_sample_token_is_not_a_secret() -> None:
    """API docs show a token cut short with an ellipsis; no working secret contains one."""
    assert not plausible_secret("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...")
    assert plausible_secret("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")


def test_third_party_base_urls_are_not_deploy_hosts() -> None:
    """A base URL named for another service, or a host owned by the vendor a module is named for."""
    code = (
        'CJ_DROPSHIPPING_BASE_URL = "https://developers.cjdropshipping.com/api2.0/v1"\n'
        'AccountingBaseUrl = "https://sandbox-quickbooks.api.intuit.com"\n'
        'BASE_URL = "https://shop.example.org"\n'
        'NEXT_PUBLIC_BASE_URL = "https://shop.example.org"\n'
    )
    assert found(code, "config.hardcoded-deploy-host") == [3, 4]
    vendor = 'BASE_URL = "https://api.fpt.com.vn/v1"\nSITE_URL = "https://shop.example.org"\n'
    assert found(vendor, "config.hardcoded-deploy-host", "fpt_client.py") == [2]


def test_a_tool_config_file_names_no_vendor() -> None:
    """``gatsby-config.js`` configures Gatsby; its ``siteUrl`` is the app's own deploy."""
    code = 'module.exports = { siteMetadata: { siteUrl: "https://starter.gatsbyjs.io/" } };\n'
    assert found(code, "config.hardcoded-deploy-host", "gatsby-config.js") == [1]
