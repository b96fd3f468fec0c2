"""The platform's own configuration: ``TWELVE_*`` environment variables, read once.

This module is the only reader of ``TWELVE_*`` variables. ``Settings.from_environ`` takes an injectable
mapping, casts every value and names the variable in every error, so the rest of the code receives one
frozen object and never touches ``os.environ`` for platform config.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from twelve.errors import ConfigError
from twelve.settings_values import (
    Bind,
    Reader,
    acme_challenge,
    backup_url,
    drain_url,
    flag,
    integer,
    libraries,
    parse_bind,
    parse_size,
    seconds,
    time_zone,
)

T = TypeVar("T")

NETWORK_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
)


def _default_cpu_count() -> int:
    return max(1, os.cpu_count() or 1)


LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class Settings:
    """Every setting of the platform, with its variable name in the comment beside it."""

    home: Path  # TWELVE_HOME
    api_bind: Bind  # TWELVE_API_BIND
    router_bind: Bind  # TWELVE_ROUTER_BIND
    domain: str  # TWELVE_DOMAIN
    api_token: str | None  # TWELVE_API_TOKEN (generated into home when unset)
    api_url: str | None  # TWELVE_API_URL (the CLI's override of the recorded address)
    stop_timeout: float  # TWELVE_STOP_TIMEOUT: SIGTERM → SIGKILL grace, seconds
    boot_timeout: float  # TWELVE_BOOT_TIMEOUT: time for a web process to bind $PORT
    drain_timeout: float  # TWELVE_DRAIN_TIMEOUT: in-flight requests of retired processes
    release_timeout: float  # TWELVE_RELEASE_TIMEOUT: the release phase's limit
    restart_backoff_max: float  # TWELVE_RESTART_BACKOFF_MAX: cap of the doubling backoff
    restart_reset_after: float  # TWELVE_RESTART_RESET_AFTER: up this long resets the backoff
    log_max_bytes: int  # TWELVE_LOG_MAX_BYTES: size of one journal file before rotation
    log_files: int  # TWELVE_LOG_FILES: journal files kept per app
    python_default: str | None  # TWELVE_PYTHON_DEFAULT: interpreter for apps that name none
    uv_cache_dir: Path  # TWELVE_UV_CACHE_DIR: dependency cache shared by every build
    python_downloads: bool  # TWELVE_PYTHON_DOWNLOADS: runtimes may come from uv's downloads
    python_install_mirror: str | None  # TWELVE_PYTHON_INSTALL_MIRROR: uv's download mirror
    router_workers: int  # TWELVE_ROUTER_WORKERS
    router_tls_bind: Bind | None  # TWELVE_ROUTER_TLS_BIND
    router_max_header_bytes: int  # TWELVE_ROUTER_MAX_HEADER_BYTES (431 past it)
    router_max_body_bytes: int  # TWELVE_ROUTER_MAX_BODY_BYTES (413 past it)
    router_connect_timeout: float  # TWELVE_ROUTER_CONNECT_TIMEOUT
    router_fail_timeout: float  # TWELVE_ROUTER_FAIL_TIMEOUT: a process a connect failed to, last
    router_response_timeout: float  # TWELVE_ROUTER_RESPONSE_TIMEOUT: first byte (504 past it)
    router_idle_timeout: float  # TWELVE_ROUTER_IDLE_TIMEOUT
    router_compiled: bool  # TWELVE_ROUTER_COMPILED: run the compiled router build when it matches
    router_sched_batch: bool  # TWELVE_ROUTER_SCHED_BATCH: a woken router waits for an app's slice
    router_max_response_header_bytes: int  # TWELVE_ROUTER_MAX_RESPONSE_HEADER_BYTES (502 past it)
    router_header_timeout: float  # TWELVE_ROUTER_HEADER_TIMEOUT: a whole request head (408 past it)
    router_max_client_connections: int  # TWELVE_ROUTER_MAX_CLIENT_CONNECTIONS: per address, 0: any
    router_sanitized: bool  # TWELVE_ROUTER_SANITIZED: the compiled build with ASan and UBSan (CI)
    router_preload: tuple[str, ...]  # TWELVE_ROUTER_PRELOAD: libraries the router loads first
    router_metrics_interval: (
        float  # TWELVE_ROUTER_METRICS_INTERVAL: how often workers report counts
    )
    process_pids_max: int  # TWELVE_PROCESS_PIDS_MAX: tasks one process group may have (0: none)
    secret_key: str | None  # TWELVE_SECRET_KEY: encrypts config at rest
    secret_key_previous: str | None  # TWELVE_SECRET_KEY_PREVIOUS: the key being rotated away from
    postgres_admin_url: str | None  # TWELVE_POSTGRES_ADMIN_URL
    redis_admin_url: str | None  # TWELVE_REDIS_ADMIN_URL
    redis_maxmemory: int  # TWELVE_REDIS_MAXMEMORY: the cap of each add-on's own redis-server
    log_level: str  # TWELVE_LOG_LEVEL: the daemon's own stdout log level
    keeper_buffer: int  # TWELVE_KEEPER_BUFFER: output kept for the daemon while none runs
    stop_apps: bool  # TWELVE_STOP_APPS: the daemon's SIGTERM stops the apps too
    audit_drain: str | None  # TWELVE_AUDIT_DRAIN: syslog+tcp/tls or https URL audit entries go to
    backup_url: str | None  # TWELVE_BACKUP_URL: a directory or s3://bucket/prefix (home/backups)
    backup_s3_endpoint: str | None  # TWELVE_BACKUP_S3_ENDPOINT: an S3-compatible server's URL
    acme_directory: str  # TWELVE_ACME_DIRECTORY: the ACME CA's directory URL (certs:auto)
    acme_email: str | None  # TWELVE_ACME_EMAIL: the ACME account's contact
    acme_ca_bundle: Path | None  # TWELVE_ACME_CA_BUNDLE: trusts a private CA's directory
    acme_retry_base: float  # TWELVE_ACME_RETRY_BASE: first wait after a failed order, doubling
    acme_order_timeout: float  # TWELVE_ACME_ORDER_TIMEOUT: validation and issuance, per order
    acme_challenge: str  # TWELVE_ACME_CHALLENGE: http-01 (plain port) or tls-alpn-01 (TLS port)
    run_disconnect_grace: float  # TWELVE_RUN_DISCONNECT_GRACE: a dropped one-off's grace
    cron_tz: str  # TWELVE_CRON_TZ: the time zone of app.json cron schedules
    cron_catchup: float  # TWELVE_CRON_CATCHUP: a tick missed while down runs if younger than this
    cron_speedup: float  # TWELVE_CRON_SPEEDUP: the scheduler's clock runs this much faster (tests)
    metrics_bind: Bind | None  # TWELVE_METRICS_BIND: GET /metrics without a token (off when unset)
    metrics_sample_interval: float  # TWELVE_METRICS_SAMPLE_INTERVAL: process samples, seconds
    metrics_max_series: int  # TWELVE_METRICS_MAX_SERIES: app and process type pairs kept
    webhook_retry_base: float  # TWELVE_WEBHOOK_RETRY_BASE: first retry's delay, doubling to 1 h
    dashboard_bind: (
        Bind | None
    )  # TWELVE_DASHBOARD_BIND: the dashboard's own bind (else the API's /ui)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    # How this machine reaches package registries (proxies, CA bundles): builds need it to
    # download dependencies; app processes never get it.
    network_environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``TWELVE_*`` variable from ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ
        r = Reader(env)
        home_text = r.text("TWELVE_HOME", "")
        home = Path(home_text).expanduser() if home_text else Path.home() / ".twelve"
        tls = r.optional("TWELVE_ROUTER_TLS_BIND")
        metrics_bind = r.optional("TWELVE_METRICS_BIND")
        dashboard_bind = r.optional("TWELVE_DASHBOARD_BIND")
        return cls(
            home=home.absolute(),
            api_bind=r.get("TWELVE_API_BIND", parse_bind, Bind("127.0.0.1", 7700)),
            router_bind=r.get("TWELVE_ROUTER_BIND", parse_bind, Bind("127.0.0.1", 8080)),
            domain=r.text("TWELVE_DOMAIN", "localhost").lower().strip("."),
            api_token=r.optional("TWELVE_API_TOKEN"),
            api_url=r.optional("TWELVE_API_URL"),
            stop_timeout=r.get("TWELVE_STOP_TIMEOUT", seconds, 30.0),
            boot_timeout=r.get("TWELVE_BOOT_TIMEOUT", seconds, 60.0),
            drain_timeout=r.get("TWELVE_DRAIN_TIMEOUT", seconds, 30.0),
            release_timeout=r.get("TWELVE_RELEASE_TIMEOUT", seconds, 1800.0),
            restart_backoff_max=r.get("TWELVE_RESTART_BACKOFF_MAX", seconds, 300.0),
            restart_reset_after=r.get("TWELVE_RESTART_RESET_AFTER", seconds, 60.0),
            log_max_bytes=r.get("TWELVE_LOG_MAX_BYTES", parse_size, 10 << 20),
            log_files=max(1, r.get("TWELVE_LOG_FILES", integer, 5)),
            python_default=r.optional("TWELVE_PYTHON_DEFAULT"),
            uv_cache_dir=Path(r.text("TWELVE_UV_CACHE_DIR", str(home / "cache" / "uv"))),
            python_downloads=r.get("TWELVE_PYTHON_DOWNLOADS", flag, True),
            python_install_mirror=r.optional("TWELVE_PYTHON_INSTALL_MIRROR"),
            router_workers=max(1, r.get("TWELVE_ROUTER_WORKERS", integer, _default_cpu_count())),
            router_tls_bind=parse_bind("TWELVE_ROUTER_TLS_BIND", tls) if tls else None,
            router_max_header_bytes=r.get("TWELVE_ROUTER_MAX_HEADER_BYTES", parse_size, 8 << 10),
            router_max_body_bytes=r.get("TWELVE_ROUTER_MAX_BODY_BYTES", parse_size, 100 << 20),
            router_connect_timeout=r.get("TWELVE_ROUTER_CONNECT_TIMEOUT", seconds, 5.0),
            router_fail_timeout=r.get("TWELVE_ROUTER_FAIL_TIMEOUT", seconds, 10.0),
            router_response_timeout=r.get("TWELVE_ROUTER_RESPONSE_TIMEOUT", seconds, 30.0),
            router_idle_timeout=r.get("TWELVE_ROUTER_IDLE_TIMEOUT", seconds, 55.0),
            router_compiled=r.get("TWELVE_ROUTER_COMPILED", flag, True),
            router_sched_batch=r.get("TWELVE_ROUTER_SCHED_BATCH", flag, True),
            router_max_response_header_bytes=r.get(
                "TWELVE_ROUTER_MAX_RESPONSE_HEADER_BYTES", parse_size, 32 << 10
            ),
            router_header_timeout=r.get("TWELVE_ROUTER_HEADER_TIMEOUT", seconds, 20.0),
            router_max_client_connections=r.get(
                "TWELVE_ROUTER_MAX_CLIENT_CONNECTIONS", integer, 1024
            ),
            router_sanitized=r.get("TWELVE_ROUTER_SANITIZED", flag, False),
            router_preload=r.get("TWELVE_ROUTER_PRELOAD", libraries, ()),
            router_metrics_interval=max(0.1, r.get("TWELVE_ROUTER_METRICS_INTERVAL", seconds, 5.0)),
            process_pids_max=r.get("TWELVE_PROCESS_PIDS_MAX", integer, 1024),
            secret_key=r.optional("TWELVE_SECRET_KEY"),
            secret_key_previous=r.optional("TWELVE_SECRET_KEY_PREVIOUS"),
            postgres_admin_url=r.optional("TWELVE_POSTGRES_ADMIN_URL"),
            redis_admin_url=r.optional("TWELVE_REDIS_ADMIN_URL"),
            redis_maxmemory=r.get("TWELVE_REDIS_MAXMEMORY", parse_size, 64 << 20),
            log_level=r.text("TWELVE_LOG_LEVEL", "info").lower(),
            keeper_buffer=r.get("TWELVE_KEEPER_BUFFER", parse_size, 16 << 20),
            stop_apps=r.get("TWELVE_STOP_APPS", flag, False),
            audit_drain=r.get("TWELVE_AUDIT_DRAIN", drain_url, None),
            backup_url=r.get("TWELVE_BACKUP_URL", backup_url, None),
            backup_s3_endpoint=r.optional("TWELVE_BACKUP_S3_ENDPOINT"),
            acme_directory=r.text("TWELVE_ACME_DIRECTORY", LETS_ENCRYPT),
            acme_email=r.optional("TWELVE_ACME_EMAIL"),
            acme_ca_bundle=Path(bundle)
            if (bundle := r.optional("TWELVE_ACME_CA_BUNDLE"))
            else None,
            acme_retry_base=r.get("TWELVE_ACME_RETRY_BASE", seconds, 60.0),
            acme_order_timeout=r.get("TWELVE_ACME_ORDER_TIMEOUT", seconds, 120.0),
            acme_challenge=r.get("TWELVE_ACME_CHALLENGE", acme_challenge, "http-01"),
            run_disconnect_grace=r.get("TWELVE_RUN_DISCONNECT_GRACE", seconds, 10.0),
            cron_tz=r.get("TWELVE_CRON_TZ", time_zone, "UTC"),
            cron_catchup=r.get("TWELVE_CRON_CATCHUP", seconds, 0.0),
            cron_speedup=max(1.0, r.get("TWELVE_CRON_SPEEDUP", seconds, 1.0)),
            metrics_bind=parse_bind("TWELVE_METRICS_BIND", metrics_bind) if metrics_bind else None,
            metrics_sample_interval=max(
                0.1, r.get("TWELVE_METRICS_SAMPLE_INTERVAL", seconds, 10.0)
            ),
            metrics_max_series=max(1, r.get("TWELVE_METRICS_MAX_SERIES", integer, 200)),
            webhook_retry_base=max(0.01, r.get("TWELVE_WEBHOOK_RETRY_BASE", seconds, 5.0)),
            dashboard_bind=(
                parse_bind("TWELVE_DASHBOARD_BIND", dashboard_bind) if dashboard_bind else None
            ),
            environ={k: v for k, v in env.items() if k.startswith("TWELVE_")},
            network_environ={k: env[k] for k in NETWORK_VARIABLES if env.get(k)},
        )

    # Paths under home, named once here so no module builds them by hand.
    @property
    def store_path(self) -> Path:
        return self.home / "twelve.db"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def token_path(self) -> Path:
        return self.home / "api-token"

    @property
    def endpoints_path(self) -> Path:
        """Where the daemon records the addresses it bound, for the CLI on the same machine."""
        return self.run_dir / "endpoints.json"

    @property
    def keeper_socket(self) -> Path:
        """Where the keeper (the process that holds app processes across daemons) listens."""
        return self.run_dir / "keeper.sock"

    @property
    def routes_path(self) -> Path:
        """The route table the daemon writes and the router reads."""
        return self.run_dir / "routes.json"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def builds_dir(self) -> Path:
        return self.home / "builds"

    @property
    def repos_dir(self) -> Path:
        return self.home / "repos"

    @property
    def scratch_dir(self) -> Path:
        """Per-process writable copies of app directories."""
        return self.home / "scratch"

    @property
    def runtimes_dir(self) -> Path:
        """Python and Node runtimes every app user may run and none may change."""
        return self.home / "runtimes"

    @property
    def services_dir(self) -> Path:
        return self.home / "services"

    @property
    def certs_dir(self) -> Path:
        """TLS certificates and keys, one directory per app (0700; files 0600)."""
        return self.home / "certs"

    @property
    def features_path(self) -> Path:
        """Each app's router features (https-redirect, hsts), JSON, 0600."""
        return self.home / "features.json"

    @property
    def acme_dir(self) -> Path:
        """The ACME account key, each app's order state and key being ordered (0700; files 0600)."""
        return self.home / "acme"


def twelve_executable() -> list[str]:
    """The command line that runs this same twelve (used to start the router and helpers)."""
    return [sys.executable, "-m", "twelve"]


def uv_binary() -> str:
    """The uv executable twelve builds with: the one installed beside twelve, else PATH's."""
    try:
        from uv import find_uv_bin  # noqa: PLC0415 (optional at import time)

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise ConfigError("uv was not found", "install twelve with its dependencies") from None
        return found
