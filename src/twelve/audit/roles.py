"""What a file is for: runtime code, or tests, examples and docs that production never runs."""

from __future__ import annotations

import os

_TEST_DIRS = frozenset(
    {
        "tests",
        "test",
        "testing",
        "__tests__",
        "spec",
        "specs",
        "fixtures",
        "testdata",
        "e2e",
        "cypress",
        "bench",
        "benchmark",
        "benchmarks",
    }
)
_EXAMPLE_DIRS = frozenset({"examples", "example", "samples", "sample", "demo", "demos"})
_DOC_DIRS = frozenset({"docs", "doc", "documentation"})
# Browser code served as files, not run by Node.
_ASSET_DIRS = frozenset({"static", "public", "assets", "www", "wwwroot", "htdocs", "templates"})
_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tmpl", ".tpl", ".j2", ".jinja")

PYTHON_SUFFIXES = frozenset({".py", ".pyw"})
JS_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"})


def role(path: str) -> str:
    """``runtime``, ``test``, ``example``, ``docs`` or ``asset`` (browser JS), from the path alone."""
    parts = path.split("/")
    name = parts[-1]
    lowered = name.lower()
    if lowered.endswith(_EXAMPLE_SUFFIXES) or ".example." in lowered or ".sample." in lowered:
        return "example"
    dirs = {p.lower() for p in parts[:-1]}
    if dirs & _TEST_DIRS or _is_test_name(lowered):
        return "test"
    if dirs & _EXAMPLE_DIRS:
        return "example"
    if dirs & _DOC_DIRS:
        return "docs"
    if os.path.splitext(lowered)[1] in JS_SUFFIXES and (dirs & _ASSET_DIRS or ".min." in lowered):
        return "asset"
    return "runtime"


def _is_test_name(name: str) -> bool:
    stem, ext = os.path.splitext(name)
    if ext in PYTHON_SUFFIXES:
        return stem.startswith("test_") or stem.endswith("_test") or stem in {"conftest", "tests"}
    if ext in JS_SUFFIXES:
        return stem.endswith((".test", ".spec", ".cy")) or stem.startswith("test")
    return False


def language(path: str) -> str | None:
    """``python`` or ``js`` for source files; None for everything else."""
    ext = os.path.splitext(path)[1].lower()
    if ext in PYTHON_SUFFIXES:
        return "python"
    if ext in JS_SUFFIXES and not path.endswith((".d.ts", ".d.mts", ".d.cts")):
        return "js"
    return None
