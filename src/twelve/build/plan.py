"""Build plans as data: which builder applies to a source tree, and the commands it runs. Pure.

A plan's commands use placeholders so the same plan drives a build on this machine and can be
rendered elsewhere (a Dockerfile): ``{app}`` is the source directory, ``{venv}`` the slug's
virtualenv, ``{python}`` the chosen interpreter, ``{uv}`` the uv executable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twelve.build.semver import parse_version, satisfies
from twelve.errors import BuildError

# The order detection tries, printed at the top of every build.
DETECTION_ORDER = ("python", "node", "generic")
# What Heroku's Python buildpack puts beside the app's packages: pip always, and for Python older
# than 3.12 setuptools and wheel too, as venv and virtualenv gave them. setuptools 82 dropped
# pkg_resources, which Django and Wagtail plugins of that era still import.
PIP = "pip"
SETUPTOOLS = "setuptools<82"
WHEEL = "wheel"


@dataclass(frozen=True)
class SourceFacts:
    """What the planner needs to know about a source tree (gathered by build.detect)."""

    files: frozenset[str]  # top-level file names
    python_version_file: str | None = None  # name of the file that pins Python, if any
    python_request: tuple[int, int, int | None] | None = None
    build_script_executable: bool = False
    npm_scripts: frozenset[str] = frozenset()  # names in package.json "scripts"
    node_engine: str | None = None  # package.json engines.node
    node_version: str | None = None  # the machine's node, e.g. "20.20.2"
    strict_engines: bool = False  # the app's TWELVE_STRICT_ENGINES=1
    django: bool = False  # manage.py and a declared Django dependency
    disable_collectstatic: bool = False  # the app's DISABLE_COLLECTSTATIC=1
    python_version: tuple[int, int, int] | None = None  # the interpreter the build chose
    node_env: str | None = None  # the app's NODE_ENV, when its config sets one


@dataclass(frozen=True)
class Step:
    """One command of a build, run in ``{app}`` with the build environment."""

    description: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    with_app_config: bool = False  # runs with the app's config vars (Django's collectstatic)
    installs: bool = (
        False  # makes the virtualenv from the dependency files (reusable when unchanged)
    )


@dataclass(frozen=True)
class BuildPlan:
    builder: str
    steps: tuple[Step, ...]
    needs_python: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    def render(self, values: dict[str, str]) -> list[Step]:
        """The steps with placeholders filled in."""
        return [
            Step(
                s.description,
                tuple(a.format(**values) for a in s.argv),
                tuple((k, v.format(**values)) for k, v in s.env),
                s.with_app_config,
                s.installs,
            )
            for s in self.steps
        ]


def detect_builder(facts: SourceFacts) -> str:
    """The first builder in DETECTION_ORDER whose marker files are present."""
    files = facts.files
    if files & {"uv.lock", "pyproject.toml", "requirements.txt", "Pipfile.lock", "setup.py"}:
        return "python"
    if "package.json" in files:
        return "node"
    if "Procfile" in files or "bin/build" in files:
        return "generic"
    raise BuildError(
        "no builder recognises this app",
        "add requirements.txt or pyproject.toml (Python), package.json (Node), or a Procfile",
    )


def baseline_packages(version: tuple[int, int, int] | None) -> tuple[str, ...]:
    if version is not None and version[:2] < (3, 12):
        return (PIP, SETUPTOOLS, WHEEL)
    return (PIP,)


def _python_steps(facts: SourceFacts) -> list[Step]:
    venv = Step(
        "create the virtualenv",
        ("{uv}", "venv", "--quiet", "--python", "{python}", "{venv}"),
        installs=True,
    )
    packages = baseline_packages(facts.python_version)
    baseline = Step(
        f"add {' and '.join(packages)} to the virtualenv, as Heroku does"
        + (" for Python below 3.12" if len(packages) > 1 else ""),
        ("{uv}", "pip", "install", "--quiet", "--python", "{venv}/bin/python", *packages),
        installs=True,
    )
    files = facts.files
    if "uv.lock" in files:
        # As Heroku's Python buildpack: no dependency group at all, whatever [tool.uv]
        # default-groups says, so a group the app only needs elsewhere is never installed.
        sync = Step(
            "install dependencies from uv.lock",
            (
                "{uv}",
                "sync",
                "--locked",
                "--inexact",
                "--no-default-groups",
                "--no-install-project",
            ),
            (("UV_PROJECT_ENVIRONMENT", "{venv}"),),
            installs=True,
        )
        return [venv, baseline, sync]
    if "requirements.txt" in files:
        req = "requirements.txt"
    elif "Pipfile.lock" in files:
        req = "{pipfile_requirements}"  # Pipfile.lock converted by the runner, outside the app
    elif "pyproject.toml" in files:
        req = "pyproject.toml"
    else:
        req = "setup.py"
    source = "Pipfile.lock" if req.startswith("{") else req
    # After the baseline, so an app that pins its own setuptools gets its pin.
    install = Step(
        f"install dependencies from {source}",
        ("{uv}", "pip", "install", "--quiet", "--python", "{venv}/bin/python", "-r", req),
        installs=True,
    )
    return [venv, baseline, install]


def _node_steps(facts: SourceFacts) -> tuple[list[Step], list[str]]:
    """npm ci (or install), the build script (heroku-postbuild first), then prune devDependencies."""
    notes: list[str] = []
    if facts.node_engine:
        if facts.node_version is None:
            raise BuildError("node is not installed on this machine", "install Node.js")
        fits = satisfies(parse_version(facts.node_version), facts.node_engine)
        if not fits:
            problem = (
                f"engines.node {facts.node_engine!r} does not match this machine's node "
                f"{facts.node_version}"
                if fits is False
                else f"engines.node {facts.node_engine!r} is not a range twelve understands"
            )
            if facts.strict_engines:
                raise BuildError(problem, "change engines.node, or unset TWELVE_STRICT_ENGINES")
            notes.append(f"Warning: {problem}; building with node {facts.node_version}")
    # As Heroku's Node buildpack: NODE_ENV=production for the whole build, devDependencies still
    # installed for the build script (then pruned).
    node_env = (("NODE_ENV", facts.node_env or "production"),)
    install_env = (*node_env, ("NPM_CONFIG_INCLUDE", "dev"))
    if facts.files & {"package-lock.json", "npm-shrinkwrap.json"}:
        install = Step("install dependencies with npm ci", ("npm", "ci"), install_env)
    else:
        notes.append("Warning: no package-lock.json; running npm install (commit a lock file)")
        install = Step("install dependencies with npm install", ("npm", "install"), install_env)
    steps = [install]
    for script in ("heroku-postbuild", "build"):
        if script in facts.npm_scripts:
            steps.append(Step(f"run the {script} script", ("npm", "run", script), node_env))
            break
    steps.append(Step("prune devDependencies", ("npm", "prune", "--omit=dev"), node_env))
    return steps, notes


def plan_build(facts: SourceFacts) -> BuildPlan:
    """The builder and its steps for a source tree."""
    builder = detect_builder(facts)
    steps: list[Step] = []
    notes: list[str] = []
    if builder == "python":
        steps = _python_steps(facts)
        if facts.django and not facts.disable_collectstatic:
            steps.append(
                Step(
                    "run Django's collectstatic",
                    ("{venv}/bin/python", "manage.py", "collectstatic", "--noinput"),
                    with_app_config=True,
                )
            )
    elif builder == "node":
        steps, node_notes = _node_steps(facts)
        notes.extend(node_notes)
    if "bin/build" in facts.files:
        if not facts.build_script_executable:
            raise BuildError(
                "bin/build is not executable", "run 'chmod +x bin/build' and commit it"
            )
        steps.append(Step("run bin/build", ("bin/build",)))
    return BuildPlan(builder, tuple(steps), needs_python=builder == "python", notes=tuple(notes))
