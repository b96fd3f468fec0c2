"""How fast ``twelve check`` audits a large real tree, against bandit (and semgrep) on the same tree.

Each tool runs as a subprocess on the same directory in the same run, so machine load affects all of
them alike. Reported per tool: wall seconds, CPU seconds (user + system of the child), the number of
source files it parsed, and files per second (wall). twelve parses Python and JavaScript/TypeScript
and reads config files; bandit parses Python only, so on a tree with JavaScript the per-file figures
are the fair comparison, not the totals.

A tree can be any directory: an installed package set (``pip install --target``), a virtualenv's
``site-packages``, or a ``node_modules`` directory given as the root (twelve never enters a
``node_modules`` below the root, but reads the root it is given).

Run: ``.venv/bin/python bench/check.py [TREE ...] [--repeat N] [--generated N]``; with no TREE, the
``site-packages`` of the running interpreter. ``--generated 100000`` also times twelve alone on a
generated 1,500-file tree and a 100,000-file one and prints files/s and peak memory of each: the cost
should grow linearly. semgrep runs with a local rule set looking for what twelve's rules look for,
and no network. bandit and semgrep come from the locked ``bench`` dependency group, in an environment
of its own because semgrep pins click below the version twelve runs with:
``UV_PROJECT_ENVIRONMENT=.venv-bench .venv/bin/uv sync --frozen --no-dev --group bench``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from twelve.audit.roles import language
from twelve.audit.snapshot import take_snapshot


def source_counts(tree: Path) -> tuple[int, int]:
    """(Python files, JavaScript/TypeScript files) twelve reads in ``tree``."""
    snapshot = take_snapshot(tree)
    kinds = [language(p) for p, f in snapshot.files.items() if f.text is not None]
    return kinds.count("python"), kinds.count("js")


_SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")


def source_copy(tree: Path, into: Path) -> Path:
    """The source files of ``tree`` copied under ``into``, with an empty ``.semgrepignore``.

    Every tool then reads the same files: semgrep's built-in ignore list would otherwise skip any
    ``.venv``, ``tests`` or ``build`` folder (a whole ``site-packages`` inside a virtualenv).
    """

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [
            n for n in names if not (Path(folder) / n).is_dir() and not n.endswith(_SOURCE_SUFFIXES)
        ]

    copy = into / "tree"
    shutil.copytree(tree, copy, ignore=ignore, symlinks=True, ignore_dangling_symlinks=True)
    (copy / ".semgrepignore").write_text("")
    return copy


def timed(argv: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def run_twelve(tree: Path, out: Path) -> tuple[float, float, int]:
    argv = [
        sys.executable,
        "-m",
        "twelve",
        "check",
        str(tree),
        "--format",
        "json",
        "-o",
        str(out),
        "--fail-on",
        "critical",
    ]
    wall, cpu, done = timed(argv)
    if done.returncode != 0:
        raise SystemExit(f"twelve check failed ({done.returncode}): {done.stderr.strip()}")
    return wall, cpu, len(json.loads(out.read_text())["findings"])


def run_bandit(tree: Path, out: Path) -> tuple[float, float, int, int] | None:
    bandit = peer("bandit")
    if bandit is None:
        return None
    wall, cpu, done = timed([bandit, "-r", str(tree), "-q", "-f", "json", "-o", str(out)])
    if done.returncode not in {0, 1}:
        raise SystemExit(f"bandit failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    data = json.loads(out.read_text())
    files = len([k for k in data.get("metrics", {}) if k != "_totals"])
    return wall, cpu, files, len(data.get("results", []))


# Rules that look for what twelve's rules look for, in both languages, so the work compares.
SEMGREP_RULES = """rules:
- id: literal-port-python
  languages: [python]
  severity: WARNING
  message: literal port
  pattern: $APP.run(..., port=$PORT, ...)
- id: literal-port-js
  languages: [javascript, typescript]
  severity: WARNING
  message: literal port
  patterns:
    - pattern: $APP.listen($PORT, ...)
    - metavariable-regex: {metavariable: $PORT, regex: "^[0-9]+$"}
- id: secret-python
  languages: [python]
  severity: WARNING
  message: literal secret
  patterns:
    - pattern: $NAME = "$VALUE"
    - metavariable-regex: {metavariable: $NAME, regex: (?i).*(secret|password|token|api_?key).*}
- id: secret-js
  languages: [javascript, typescript]
  severity: WARNING
  message: literal secret
  patterns:
    - pattern-either:
        - pattern: const $NAME = "$VALUE"
        - pattern: '{..., $NAME: "$VALUE", ...}'
    - metavariable-regex: {metavariable: $NAME, regex: (?i).*(secret|password|token|api_?key).*}
- id: backing-url
  languages: [python, javascript, typescript]
  severity: WARNING
  message: backing service URL in code
  pattern-regex: (postgres(ql)?|mysql|redis|amqp|mongodb(\\+srv)?)://[^"'\\s]+
- id: local-uploads
  languages: [javascript, typescript]
  severity: WARNING
  message: local uploads
  pattern-either:
    - pattern: multer.diskStorage(...)
    - pattern: "multer({dest: $D, ...})"
- id: media-root
  languages: [python]
  severity: WARNING
  message: local uploads
  pattern: MEDIA_ROOT = $X
- id: log-file
  languages: [python]
  severity: WARNING
  message: log file
  pattern: logging.FileHandler(...)
- id: debug-true
  languages: [python]
  severity: WARNING
  message: debug on
  pattern: DEBUG = True
"""


ROOT = Path(__file__).resolve().parents[1]
# The locked ``bench`` dependency group, synced apart from the dev environment (see the docstring).
BENCH_ENV = ROOT / ".venv-bench" / "bin"


def peer(name: str) -> str | None:
    """A peer tool beside the running interpreter, in the bench environment, or on PATH."""
    for candidate in (Path(sys.executable).with_name(name), BENCH_ENV / name):
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def run_semgrep(tree: Path, out: Path) -> tuple[float, float, int, int] | None:
    semgrep = peer("semgrep")
    if semgrep is None:
        return None
    rules = out.with_suffix(".rules.yml")
    rules.write_text(SEMGREP_RULES)
    # --metrics=off and a local rules file keep it offline; one job per core, like twelve's one.
    wall, cpu, done = timed(
        [
            semgrep,
            "scan",
            "--config",
            str(rules),
            "--json",
            "-o",
            str(out),
            "--metrics=off",
            "--disable-version-check",
            "--no-git-ignore",
            "-j",
            "1",
            str(tree),
        ]
    )
    if done.returncode not in {0, 1}:
        print(f"  semgrep failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        return None
    data = json.loads(out.read_text())
    return wall, cpu, len(data.get("paths", {}).get("scanned", [])), len(data.get("results", []))


_PY_MODULE = """import os

SETTING_{n} = os.environ.get("SETTING_{n}", "value-{n}")


def handler_{n}(request):
    items = [x * {n} for x in range(10)]
    if request.get("debug"):
        return {{"items": items, "port": int(os.environ.get("PORT", "8000"))}}
    return items
"""
_JS_MODULE = """const express = require("express");

const router = express.Router();
const LIMIT_{n} = {n};

router.get("/items/{n}", (req, res) => {{
  res.json({{ limit: LIMIT_{n}, url: process.env.API_URL || "/api" }});
}});

module.exports = router;
"""


def generate(root: Path, files: int) -> Path:
    """A repository of ``files`` source files: packages of Python and Node modules, with manifests."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text("flask==3.0.0\n")
    (root / "package.json").write_text('{"name": "gen", "dependencies": {"express": "4.19.2"}}\n')
    (root / "Procfile").write_text("web: gunicorn app:app\n")
    for n in range(files):
        folder = root / f"pkg{n // 500}"
        folder.mkdir(exist_ok=True)
        if n % 5 < 3:
            (folder / f"mod{n}.py").write_text(_PY_MODULE.format(n=n))
        else:
            (folder / f"mod{n}.js").write_text(_JS_MODULE.format(n=n))
    return root


# Runs the command as its own child and prints that child's peak memory. Linux keeps a process's
# peak across fork and exec, so a child forked straight from this (large) bench would report the
# bench's memory; forked from this small launcher it reports its own.
_LAUNCHER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MiB) of one child."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *argv],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return wall, int(done.stdout.split()[-1]) // 1024


_BASE_FILES = 20


def scaling(large: int, repeat: int) -> None:
    """files/s and peak memory on a generated 1,500-file tree and on a ``large`` one, same run.

    Also the marginal rate: files beyond a 20-file tree over the seconds beyond its run, which
    leaves out what every run pays once (interpreter, imports, loading parsers) and a small tree
    pays in a larger share. Equal marginal rates mean each file costs the same however many there
    are. Small trees run at least five times (the best is kept): one run is noise on a shared
    machine.
    """
    with tempfile.TemporaryDirectory() as scratch:
        print(f"\ngenerated trees (Python and Node modules): 1500 and {large} files")
        print(f"  {'files':>7} {'wall s':>8} {'files/s':>9} {'marginal/s':>11} {'peak MiB':>9}")
        rates, marginal = [], []
        base = 0.0
        for size in (_BASE_FILES, 1500, large):
            tree = generate(Path(scratch) / f"tree{size}", size)
            out = Path(scratch) / f"out{size}.json"
            argv = [sys.executable, "-m", "twelve", "check", str(tree), "--format", "json"]
            argv += ["-o", str(out), "--fail-on", "critical"]
            runs = repeat if size == large else max(repeat, 5)
            wall, peak = min(run_measured(argv) for _ in range(runs))
            shutil.rmtree(tree)
            if size == _BASE_FILES:
                base = wall
                print(f"  {size:7d} {wall:8.2f} {size / wall:9.0f} {'-':>11} {peak:9d}")
                continue
            rates.append(size / wall)
            marginal.append((size - _BASE_FILES) / max(wall - base, 1e-9))
            print(f"  {size:7d} {wall:8.2f} {rates[-1]:9.0f} {marginal[-1]:11.0f} {peak:9d}")
        print(
            f"  files/s at {large} files is {rates[1] / rates[0]:.2f}x the 1500-file rate"
            f" (marginal: {marginal[1] / marginal[0]:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the best is kept")
    parser.add_argument(
        "--generated",
        type=int,
        metavar="N",
        help="also time twelve on generated 1500- and N-file trees",
    )
    args = parser.parse_args()
    trees = args.trees or [Path(sysconfig.get_paths()["purelib"])]
    for given in trees:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch)
            tree = source_copy(given, out)
            python_files, js_files = source_counts(tree)
            print(f"\n{given}: {python_files} Python and {js_files} JavaScript/TypeScript files")
            print(
                f"  {'tool':<8} {'wall s':>8} {'cpu s':>8} {'files':>7} {'files/s':>9} {'findings':>9}"
            )
            runs = [run_twelve(tree, out / "twelve.json") for _ in range(args.repeat)]
            wall, cpu, findings = min(runs)
            twelve_rate = (python_files + js_files) / wall
            total = python_files + js_files
            print(
                f"  {'twelve':<8} {wall:8.2f} {cpu:8.2f} {total:7d} {twelve_rate:9.0f} {findings:9d}"
            )
            for name, runner in (("bandit", run_bandit), ("semgrep", run_semgrep)):
                other_runs = [runner(tree, out / f"{name}.json") for _ in range(args.repeat)]
                measured = [r for r in other_runs if r is not None]
                if not measured:
                    print(f"  {name:<8} not installed")
                    continue
                o_wall, o_cpu, o_files, o_findings = min(measured)
                rate = o_files / o_wall if o_wall else 0.0
                # Per CPU second too: on a shared machine wall time also measures the neighbours.
                cpu_ratio = (total / cpu) / (o_files / o_cpu) if o_files and o_cpu else 0.0
                verdict = (
                    f"twelve is {twelve_rate / rate:.1f}x its files/s ({cpu_ratio:.1f}x per CPU s)"
                    if o_files
                    else "no files it reads"
                )
                print(
                    f"  {name:<8} {o_wall:8.2f} {o_cpu:8.2f} {o_files:7d} {rate:9.0f} {o_findings:9d}"
                    f"   {verdict}"
                )
    if args.generated:
        scaling(args.generated, args.repeat)


if __name__ == "__main__":
    main()
