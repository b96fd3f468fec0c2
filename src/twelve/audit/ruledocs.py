"""The catalogue of rules: id, factor, default severity and confidence, and the doc each one prints.

Ids are stable. ``twelve check --explain RULE`` and the SARIF ``help`` text both come from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from twelve.audit.findings import Severity, factor_title

# Where the rule pages are published; SARIF ``helpUri`` points here.
HELP_BASE_URI = "https://twelve.dev/docs/check/"


@dataclass(frozen=True)
class RuleDoc:
    """What a rule finds, why it matters, how to fix it, and an example of each side."""

    id: str
    factor: int
    severity: Severity
    confidence: str
    title: str
    why: str
    fix: str
    bad: str
    good: str
    secret: bool = False

    @property
    def help_uri(self) -> str:
        return f"{HELP_BASE_URI}{self.id}"

    def explain(self) -> str:
        """The plain-text page for ``--explain`` and SARIF help."""
        return (
            f"{self.id}  ({factor_title(self.factor)}; severity {self.severity.label}, "
            f"confidence {self.confidence})\n\n{self.title}.\n\nWhy: {self.why}\n\nFix: {self.fix}\n\n"
            f"Example, flagged:\n{_indent(self.bad)}\n\nExample, fine:\n{_indent(self.good)}\n"
        )


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


H, M, L, INFO = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

_DOCS = (
    RuleDoc(
        "config.hardcoded-secret",
        3,
        H,
        "high",
        "A literal secret is bound to a secret-like name in code",
        "Anyone who can read the repository can use the secret, and every deploy shares it; "
        "config that varies between deploys belongs in the environment.",
        'read it from the environment, e.g. os.environ["SECRET_KEY"], and rotate the leaked value',
        'SECRET_KEY = "k3!x9...q"',
        'SECRET_KEY = os.environ["SECRET_KEY"]',
        secret=True,
    ),
    RuleDoc(
        "config.secret-default-fallback",
        3,
        H,
        "high",
        "An environment read of a secret falls back to a literal secret",
        "When the variable is missing in production the app silently runs with a secret that is "
        "public in the repository.",
        "fail when the variable is missing, or fall back to a random value",
        'SECRET_KEY = os.environ.get("SECRET_KEY", "dev-secret")',
        'SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)',
        secret=True,
    ),
    RuleDoc(
        "config.committed-dotenv",
        3,
        H,
        "high",
        "A tracked .env file gives secret-like keys real values",
        "A .env file is a developer's local config; committed, its secrets travel with every "
        "clone and every build.",
        "git rm --cached .env, add it to .gitignore, commit a .env.example with empty values",
        "# .env (tracked)\nSTRIPE_SECRET_KEY=sk_live_51H...",
        "# .env.example\nSTRIPE_SECRET_KEY=",
        secret=True,
    ),
    RuleDoc(
        "config.hardcoded-backing-service",
        4,
        M,
        "high",
        "A database, cache or broker URL or host is written in code",
        "A backing service is an attached resource: swapping it must be a config change, "
        "not a code change.",
        "read the URL from the environment (DATABASE_URL, REDIS_URL, ...)",
        'redis.Redis.from_url("redis://cache.internal:6379/0")',
        'redis.Redis.from_url(os.environ["REDIS_URL"])',
    ),
    RuleDoc(
        "config.hardcoded-deploy-host",
        3,
        L,
        "medium",
        "A deploy's host name is written in code",
        "The same build must run on staging and production; host names vary between deploys.",
        "read host names from the environment, e.g. ALLOWED_HOSTS = os.environ['ALLOWED_HOSTS'].split(',')",
        'ALLOWED_HOSTS = ["shop.example.org"]',
        'ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")',
    ),
    RuleDoc(
        "config.debug-hardcoded",
        3,
        H,
        "high",
        "Debug mode is switched on in code that production runs",
        "Debug pages leak settings, source and secrets; whether to debug is per-deploy config.",
        "read it from the environment with a false default, or set it only in a dev settings module",
        "DEBUG = True",
        'DEBUG = os.environ.get("DEBUG") == "1"',
    ),
    RuleDoc(
        "config.requires-config-file",
        3,
        M,
        "medium",
        "The app reads its config from a file in the repository",
        "Config files get committed, differ per deploy and are easy to forget; the environment "
        "is language- and OS-agnostic.",
        "read each value from an environment variable",
        'settings = json.load(open("config/production.json"))',
        'settings = {"db": os.environ["DATABASE_URL"]}',
    ),
    RuleDoc(
        "config.named-environments",
        3,
        M,
        "medium",
        "Config is grouped into named environments",
        "Named groups (staging, qa, ...) multiply with every new deploy and do not scale; each "
        "value should be an independent variable.",
        "replace the branch on the environment's name with one variable per setting",
        'if os.environ["APP_ENV"] == "staging":\n    API = "https://staging-api"',
        'API = os.environ["API_URL"]',
    ),
    RuleDoc(
        "deps.missing-manifest",
        2,
        H,
        "high",
        "Code has no dependency manifest",
        "Without a manifest the build cannot install what the app imports, and nobody can "
        "reproduce the environment.",
        "declare dependencies in pyproject.toml or requirements.txt (Python) or package.json (Node)",
        "app.py imports flask; no requirements.txt",
        "requirements.txt: flask==3.0.3",
    ),
    RuleDoc(
        "deps.missing-lockfile",
        2,
        M,
        "high",
        "A manifest without a lockfile",
        "Ranges resolve to different versions on each build; a lockfile makes builds repeatable.",
        "commit uv.lock, poetry.lock, Pipfile.lock, package-lock.json, yarn.lock or pnpm-lock.yaml",
        "package.json with no package-lock.json",
        "package.json and package-lock.json",
    ),
    RuleDoc(
        "deps.unpinned",
        2,
        M,
        "high",
        "A dependency is not pinned and no lockfile pins it",
        "An unpinned dependency changes under the app between builds.",
        "pin an exact version (==) or commit a lockfile",
        "requirements.txt: requests",
        "requirements.txt: requests==2.32.3",
    ),
    RuleDoc(
        "deps.undeclared-import",
        2,
        M,
        "medium",
        "Code imports a package the manifest does not declare",
        "It works on a machine where the package happens to be installed and breaks in a clean build.",
        "add the distribution to the manifest",
        "import yaml  # PyYAML missing from requirements.txt",
        "requirements.txt: PyYAML==6.0.2",
    ),
    RuleDoc(
        "deps.adhoc-install",
        2,
        M,
        "high",
        "A package is installed outside the manifest",
        "Packages installed by a Dockerfile or script are invisible to the manifest and unpinned.",
        "declare the package in the manifest and install from it",
        "RUN pip install requests",
        "RUN pip install -r requirements.txt",
    ),
    RuleDoc(
        "release.admin-in-web-start",
        5,
        M,
        "high",
        "Migrations or asset builds run in the web start command",
        "Every web process start (and every scale-up) repeats them, concurrently; they belong in "
        "the release phase or the build.",
        "move migrations to 'release:' in the Procfile and asset builds to the build",
        "web: python manage.py migrate && gunicorn app.wsgi",
        "release: python manage.py migrate\nweb: gunicorn app.wsgi",
    ),
    RuleDoc(
        "admin.ssh",
        12,
        L,
        "medium",
        "An admin or deploy script logs in to servers over ssh",
        "Admin tasks should run as one-off processes in the release's environment "
        "(twelve run ...), not by hand on a server.",
        "run the task with 'twelve run COMMAND' against the app",
        "ssh deploy@prod 'cd app && ./manage.py shell'",
        "twelve run -a app python manage.py shell",
    ),
    RuleDoc(
        "state.in-process-session",
        6,
        M,
        "high",
        "Sessions live in the process's memory or local files",
        "Processes are stateless and share nothing; a session stored in one process is lost on "
        "restart and invisible to the others.",
        "store sessions in a backing service (Redis, the database) or in a signed cookie",
        "app.use(session({ secret: process.env.SECRET }))",
        "app.use(session({ store: new RedisStore({ client }), secret: process.env.SECRET }))",
    ),
    RuleDoc(
        "state.sticky-sessions",
        6,
        M,
        "high",
        "The load balancer pins clients to one process",
        "Sticky sessions hide state kept in a process and break on every restart or scale-down.",
        "keep session state in a backing service and balance freely",
        "upstream app { ip_hash; server a; server b; }",
        "upstream app { server a; server b; }",
    ),
    RuleDoc(
        "storage.local-uploads",
        6,
        M,
        "medium",
        "Uploads are written to the local filesystem",
        "The filesystem of a process is ephemeral and not shared; uploaded files vanish on restart.",
        "store uploads in object storage (S3 and friends) through a storage backend",
        "multer({ dest: 'uploads/' })",
        "multer({ storage: multerS3({ s3, bucket }) })",
    ),
    RuleDoc(
        "state.committed-runtime-data",
        6,
        M,
        "high",
        "Runtime data (a database file, logs, pid files) is tracked in git",
        "Data the app writes at runtime is state; committed, it ships stale copies with every build.",
        "git rm --cached the file and add its pattern to .gitignore",
        "db.sqlite3 tracked in git",
        "db.sqlite3 in .gitignore",
    ),
    RuleDoc(
        "port.hardcoded-port",
        7,
        M,
        "high",
        "The production start binds a literal port",
        "The platform assigns the port in $PORT; a fixed one collides and cannot be routed.",
        "bind to $PORT (an env read with a default is fine)",
        "web: gunicorn -b 0.0.0.0:8000 app:app",
        "web: gunicorn -b 0.0.0.0:$PORT app:app",
    ),
    RuleDoc(
        "process.procfile-missing",
        8,
        M,
        "high",
        "No Procfile declares the process types",
        "The Procfile is how the process formation is declared and scaled.",
        "add a Procfile at the repository root (exactly 'Procfile') with a web: line",
        "(no Procfile, or procfile.txt)",
        "web: gunicorn app:app",
    ),
    RuleDoc(
        "process.in-process-scheduler",
        8,
        M,
        "medium",
        "A scheduler runs inside another process",
        "Every scaled copy of the process runs the jobs again; a schedule is its own process type.",
        "run the schedule as a 'clock:' process (a blocking scheduler) or use the platform's scheduler",
        "scheduler = BackgroundScheduler(); scheduler.start()  # in the web app",
        "clock: python clock.py  # BlockingScheduler",
    ),
    RuleDoc(
        "process.daemonize",
        8,
        H,
        "high",
        "A process daemonizes or backgrounds itself",
        "The process manager supervises, restarts and logs foreground processes; a daemon escapes it.",
        "run in the foreground (no --daemon, no trailing &, pm2-runtime instead of pm2 start)",
        "web: gunicorn --daemon app:app",
        "web: gunicorn app:app",
    ),
    RuleDoc(
        "process.pidfile",
        8,
        L,
        "high",
        "A process writes a pid file",
        "Pid files are for daemons managed by hand; the process manager already knows the pid.",
        "drop the pid file option",
        "web: gunicorn --pid /tmp/app.pid app:app",
        "web: gunicorn app:app",
    ),
    RuleDoc(
        "process.no-sigterm-handler",
        9,
        INFO,
        "medium",
        "A long-running custom process does not handle SIGTERM",
        "On SIGTERM a process should stop taking work and exit cleanly within the grace period.",
        "handle SIGTERM: finish the current job, then exit",
        "while True: work()",
        "signal.signal(signal.SIGTERM, stop)\nwhile running: work()",
    ),
    RuleDoc(
        "parity.dev-prod-database",
        10,
        M,
        "medium",
        "SQLite in development or as a fallback while production uses another database",
        "Different backing services in dev and prod let bugs through that only production meets.",
        "use the production engine locally too (a local PostgreSQL), without a SQLite fallback",
        'DATABASES = {"default": dj_database_url.config(default="sqlite:///db.sqlite3")}',
        'DATABASES = {"default": dj_database_url.config()}',
    ),
    RuleDoc(
        "logs.file-output",
        11,
        M,
        "high",
        "Logs are written to a file",
        "A twelve-factor app writes its log stream to stdout; the platform collects and routes it.",
        "log to stdout/stderr (logging.StreamHandler(), console transport)",
        'logging.FileHandler("app.log")',
        "logging.StreamHandler(sys.stdout)",
    ),
    RuleDoc(
        "logs.routing-in-app",
        11,
        L,
        "high",
        "The app routes its own logs to a destination",
        "Where logs go is the platform's concern (drains), so it can change without a code change.",
        "log to stdout and add a drain: twelve drains:add syslog+tls://...",
        "SysLogHandler(address=('logs.example.org', 514))",
        "logging.StreamHandler()",
    ),
    RuleDoc(
        "check.suppression-without-rule",
        0,
        L,
        "high",
        "A suppression comment names no rule",
        "A blanket ignore hides every present and future finding on that line.",
        "name the rule: # twelve: ignore[rule-id] reason",
        "x = 1  # twelve: ignore",
        "x = 1  # twelve: ignore[port.hardcoded-port] dev only",
    ),
    RuleDoc(
        "check.unused-suppression",
        0,
        L,
        "high",
        "A suppression comment matches no finding",
        "Stale suppressions hide the next real finding on that line.",
        "remove the comment, or correct its rule id",
        "# twelve: ignore[logs.file-output] nothing here logs",
        "(no comment)",
    ),
)

RULES: dict[str, RuleDoc] = {doc.id: doc for doc in _DOCS}
