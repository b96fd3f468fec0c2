"""Which runtime version a build gets, and from where: pure decisions over what each source offers.

Sources are tried in a fixed order of preference for the same version: one already in the
runtimes folder, then a download (``uv python install``, the npm registry), then a copy of an
interpreter on the machine. The version itself is the one the app asks for; a missing patch
version resolves to the newest patch of that minor any source offers, as Heroku does.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

from twelve.build.semver import satisfies
from twelve.errors import BuildError

Version = tuple[int, int, int]
# Sources in the order of preference for one version.
SOURCES = ("installed", "download", "machine")


@dataclass(frozen=True)
class Pick:
    version: Version
    source: str  # one of SOURCES
    note: str | None = None  # said in the build output, e.g. when a patch version fell back


def label(version: Version) -> str:
    return ".".join(map(str, version))


def _source_of(version: Version, offers: Mapping[str, Set[Version]]) -> str:
    return next(s for s in SOURCES if version in offers.get(s, set()))


def python_hint(major: int, minor: int) -> str:
    return (
        f"run 'twelve runtimes:install python@{major}.{minor}' or "
        f"'twelve runtimes:add /path/to/python{major}.{minor}'; the running release keeps serving"
    )


def choose_python(
    request: tuple[int, int, int | None] | None,
    offers: Mapping[str, Set[Version]],
    default: tuple[int, int, int | None] | None = None,
) -> Pick:
    """The Python version to use and the source that provides it.

    With nothing requested, ``default`` (TWELVE_PYTHON_DEFAULT) decides, else the newest stable
    version any source offers.
    """
    everything = set().union(*offers.values()) if offers else set()
    if request is None:
        if default is not None:
            return choose_python(default, offers)
        if not everything:
            raise BuildError(
                "no Python runtime is installed or installable",
                "run 'twelve runtimes:install python@3.12'",
            )
        newest = max(everything)
        return Pick(newest, _source_of(newest, offers))
    major, minor, patch = request
    same_minor = sorted((v for v in everything if v[:2] == (major, minor)), reverse=True)
    if not same_minor:
        have = ", ".join(sorted({f"{v[0]}.{v[1]}" for v in everything}, key=_minor_key)) or "none"
        raise BuildError(
            f"Python {major}.{minor} is not installed and no source here can provide it "
            f"(available: {have})",
            python_hint(major, minor),
        )
    if patch is None or (major, minor, patch) in same_minor:
        chosen = (major, minor, patch) if patch is not None else same_minor[0]
        return Pick(chosen, _source_of(chosen, offers))
    fallback = same_minor[0]
    note = (
        f"Python {major}.{minor}.{patch} is not available here; "
        f"using {label(fallback)}, the newest {major}.{minor}"
    )
    return Pick(fallback, _source_of(fallback, offers), note)


def _minor_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def choose_node(
    engine: str, offers: Mapping[str, Set[Version]], machine: Version | None
) -> Pick | None:
    """The newest Node version that satisfies ``engines.node``; None when the machine's fits.

    The machine's node is used when it satisfies the range and no installed runtime does, so a
    machine whose node already fits downloads nothing.
    """
    installed = sorted(v for v in offers.get("installed", ()) if satisfies(v, engine))
    if installed:
        return Pick(installed[-1], "installed")
    if machine is not None and satisfies(machine, engine):
        return None
    downloadable = sorted(v for v in offers.get("download", ()) if satisfies(v, engine))
    if satisfies((0, 0, 0), engine) is None:
        raise BuildError(
            f"engines.node {engine!r} is not a range twelve understands",
            "write a range such as 20.x or >=18 <23",
        )
    if not downloadable:
        raise BuildError(
            f"no Node.js release satisfies engines.node {engine!r}",
            "change engines.node in package.json; the running release keeps serving",
        )
    return Pick(downloadable[-1], "download")
