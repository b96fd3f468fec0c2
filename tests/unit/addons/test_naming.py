"""Add-on names, variables, URLs and password verifiers: the pure rules behind every add-on."""

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from twelve.addons import naming
from twelve.addons.redis import pre_acl_notice
from twelve.addons.selfrun import dedicated_redis_config
from twelve.addons.url import external, name_stem
from twelve.errors import UsageError


def test_service_names_accept_heroku_spellings_and_refuse_others() -> None:
    assert naming.service_kind("postgresql") == "postgres"
    assert naming.service_kind("Redis") == "redis"
    with pytest.raises(UsageError, match="unknown add-on service 'mysql'"):
        naming.service_kind("mysql")


def test_a_new_addon_name_is_valid_and_becomes_a_safe_identifier() -> None:
    name = naming.new_addon_name("postgres", "notes")
    assert name.startswith("postgres-notes-")
    assert naming.validate_addon_name(name) == name
    ident = naming.resource_identifier(name)
    assert ident.startswith("twelve_postgres_notes_") and "-" not in ident and len(ident) <= 63
    assert naming.new_addon_name("postgres", "notes") != name


@pytest.mark.parametrize(
    "bad", ["A", "x", "has space", "trailing-", "double--dash", "1st", "pg\n", "pg\nDROP"]
)
def test_bad_addon_names_are_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(UsageError, match="lowercase letters"):
        naming.validate_addon_name(bad)


def test_the_variable_defaults_per_service_and_as_names_a_second_one() -> None:
    assert naming.config_var("postgres", None) == "DATABASE_URL"
    assert naming.config_var("redis", None) == "REDIS_URL"
    assert naming.config_var("postgres", "analytics") == "ANALYTICS_URL"
    assert naming.config_var("redis", "CACHE_URL") == "CACHE_URL"
    with pytest.raises(UsageError, match="invalid config key"):
        naming.config_var("redis", "9lives")


def test_the_scram_verifier_is_what_postgres_would_store_for_the_password() -> None:
    salt = b"0123456789abcdef"
    verifier = naming.scram_sha256_verifier("s3cret", salt)
    method, _, rest = verifier.partition("$")
    iterations_salt, _, keys = rest.partition("$")
    assert method == "SCRAM-SHA-256"
    assert iterations_salt == f"4096:{base64.b64encode(salt).decode()}"
    stored, server = (base64.b64decode(k) for k in keys.split(":"))
    salted = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert stored == hashlib.sha256(client_key).digest()
    assert server == hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert "s3cret" not in verifier


def test_redis_rules_carry_a_hash_not_the_password_and_allow_one_database() -> None:
    rules = naming.redis_acl_rules("pw-123", 7)
    assert "pw-123" not in " ".join(rules)
    assert naming.redis_password_hash("pw-123") in rules
    assert rules[-2:] == ["-select", "+select|7"]
    assert "-@admin" in rules


def test_urls_are_built_for_apps_and_redacted_for_people() -> None:
    url = naming.postgres_url("twelve_a", "p@ss", "127.0.0.1", 5433, "twelve_a")
    assert url == "postgres://twelve_a:p%40ss@127.0.0.1:5433/twelve_a"
    assert naming.redact_url(url) == "postgres://twelve_a:***@127.0.0.1:5433/twelve_a"
    assert naming.redis_url("u", "pw", "::1", 6379, 3) == "redis://u:pw@[::1]:6379/3"
    assert naming.redact_url("smtp://mail.example.com:25") == "smtp://mail.example.com:25"
    assert naming.server_id("redis://:pw@cache.internal/0") == "cache.internal:6379"
    assert naming.server_id("postgresql://u:pw@db/x") == "db:5432"


def test_external_urls_get_a_variable_from_their_scheme_or_from_as() -> None:
    found = external("smtp://user:pw@127.0.0.1:2525", None)
    assert (found.service, found.server, found.config_var) == ("smtp", "127.0.0.1:2525", "SMTP_URL")
    assert external("rediss://h:6380/0", None).config_var == "REDIS_URL"
    assert external("s3://bucket.example", "uploads").config_var == "UPLOADS_URL"
    with pytest.raises(UsageError, match="name it with --as"):
        external("ftp://files.example", None)
    with pytest.raises(UsageError, match="is not a URL"):
        external("not a url", "X")
    assert name_stem("postgresql+psycopg") == "postgresql-psycopg"


def test_a_rejected_url_is_shown_without_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        naming.validate_external_url("x y://user:hunter2@host")
    assert "hunter2" not in str(caught.value)


def test_rollback_names_the_addon_variables_it_would_change() -> None:
    current = {"DATABASE_URL": "postgresql://new", "REDIS_URL": "redis://r", "DEBUG": "1"}
    target = {"DATABASE_URL": "postgresql://old", "REDIS_URL": "redis://r", "DEBUG": "0"}
    changed = naming.rollback_addon_changes({"DATABASE_URL", "REDIS_URL"}, current, target)
    assert changed == ["DATABASE_URL"]
    notice = naming.rollback_notice(changed, 3)
    assert notice is not None and "DATABASE_URL" in notice and "not add-ons" in notice
    assert "postgresql://" not in notice
    assert naming.rollback_notice([], 3) is None


def test_only_urls_naming_an_acl_user_carry_the_pre_redis_6_notice() -> None:
    notice = pre_acl_notice("redis://twelve_redis_a:pw@127.0.0.1:6379/3")
    assert notice is not None and "AUTH called without any password" in notice
    assert pre_acl_notice("redis://:pw@127.0.0.1:6380") is None, "Heroku's form works for all"
    assert pre_acl_notice("redis://127.0.0.1:6379/0") is None


def test_an_addons_own_redis_denies_admin_commands_and_caps_memory(tmp_path: Path) -> None:
    config = dedicated_redis_config(6390, tmp_path, "#abc", 16 << 20).splitlines()
    assert "port 6390" in config and "bind 127.0.0.1" in config
    assert f"maxmemory {16 << 20}" in config and "appendonly yes" in config
    user = next(line for line in config if line.startswith("user default on #abc"))
    assert {"-config", "-debug", "-acl"} <= set(user.split())
