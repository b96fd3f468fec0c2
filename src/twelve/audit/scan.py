"""The context rules run in: the snapshot, cached parses, and the one way to report a finding."""

from __future__ import annotations

import ast
import fnmatch
import os
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any, TypeVar

from twelve.audit import jsindex, pyindex
from twelve.audit.findings import Finding, Severity, mask, secret_digest
from twelve.audit.formats import Command, dockerfile_instructions, procfile_entries
from twelve.audit.roles import ASSET_DIRS, is_generated, language, role
from twelve.audit.ruledocs import RULES
from twelve.audit.snapshot import Snapshot, SourceFile
from twelve.errors import SpecError

T = TypeVar("T")
Check = Callable[["Scan"], None]
# Checks that judge each source file on its own (with repository-wide facts from ``Scan.once``):
# they run over one batch of files at a time, so parses need not outlive their batch.
PER_FILE: set[Check] = set()


def per_file(check: Check) -> Check:
    PER_FILE.add(check)
    return check


class Scan:
    """What every rule receives. Parses are done once per file and kept for the current batch."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.findings: list[Finding] = []
        self.unparsed: dict[str, str] = {}
        # What per-file checks gather across batches for a later whole-repository check.
        self.gathered: dict[str, list[Any]] = {}
        self._py: dict[str, pyindex.PyIndex | None] = {}
        self._js: dict[str, jsindex.JsIndex | None] = {}
        self._batch: list[SourceFile] | None = None
        self._once: dict[str, Any] = {}

    def start_batch(self, files: list[SourceFile] | None) -> None:
        """Limit ``files()`` to ``files`` (None: every file) and drop the parses of the last batch."""
        self._batch = files
        self._py.clear()
        self._js.clear()

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """A repository-wide fact computed once per scan, whatever the batch."""
        if key not in self._once:
            self._once[key] = compute()
        value: T = self._once[key]
        return value

    def gather(self, key: str) -> list[Any]:
        return self.gathered.setdefault(key, [])

    # Files -----------------------------------------------------------------------------------------
    def files(self, lang: str, *, runtime_only: bool = True) -> Iterator[SourceFile]:
        """Source files of one language with text; by default only runtime code, never generated."""
        for file in self._batch if self._batch is not None else self.snapshot.files.values():
            if file.text is None or language(file.path) != lang:
                continue
            if runtime_only and self.role(file.path) != "runtime":
                continue
            if is_generated(file.path, file.text):
                continue
            yield file

    def python_files(self) -> Iterator[tuple[SourceFile, pyindex.PyIndex]]:
        """The runtime Python files that parse, each with its index."""
        for file in self.files("python"):
            index = self.py(file)
            if index is not None:
                yield file, index

    def js_files(self) -> Iterator[tuple[SourceFile, jsindex.JsIndex]]:
        """The runtime JavaScript files, each with its index (of what parsed)."""
        for file in self.files("js"):
            index = self.js(file)
            if index is not None:
                yield file, index

    def role(self, path: str) -> str:
        """The file's role; JavaScript of a Node package under an asset-like folder is runtime code."""
        found = role(path)
        if found == "asset" and not path.endswith(".min.js"):
            folder = os.path.dirname(path)
            while folder:
                if folder in self._package_dirs:
                    return "runtime"
                if os.path.basename(folder).lower() in ASSET_DIRS:
                    break
                folder = os.path.dirname(folder)
        return found

    @cached_property
    def _package_dirs(self) -> frozenset[str]:
        return frozenset(
            os.path.dirname(p) for p in self.snapshot.files if os.path.basename(p) == "package.json"
        )

    def named(self, *names: str, runtime_only: bool = True) -> Iterator[SourceFile]:
        """Files whose base name matches one of the glob patterns ``names``."""
        for file in self.snapshot.files.values():
            base = os.path.basename(file.path)
            if not any(fnmatch.fnmatchcase(base, n) for n in names):
                continue
            if runtime_only and role(file.path) != "runtime":
                continue
            yield file

    def has(self, path: str) -> bool:
        return path in self.snapshot.files

    def text(self, path: str) -> str | None:
        return self.snapshot.text(path)

    # Parses ----------------------------------------------------------------------------------------
    def py(self, file: SourceFile) -> pyindex.PyIndex | None:
        if file.path not in self._py:
            try:
                tree = ast.parse(file.text or "", filename=file.path)
            except (SyntaxError, ValueError) as exc:
                self.unparsed[file.path] = f"not valid Python: {exc}"
                self._py[file.path] = None
            else:
                self._py[file.path] = pyindex.build_index(tree)
        return self._py[file.path]

    def js(self, file: SourceFile) -> jsindex.JsIndex | None:
        if file.path not in self._js:
            index = jsindex.build_index(file.text or "", file.path)
            if index.has_errors:
                self.unparsed[file.path] = "syntax errors; read what parsed"
            self._js[file.path] = index
        return self._js[file.path]

    @cached_property
    def procfile(self) -> list[Command] | None:
        """Root Procfile entries; None when there is no Procfile or it is malformed."""
        text = self.text("Procfile")
        if text is None:
            return None
        try:
            return procfile_entries(text)
        except SpecError as exc:
            self.unparsed["Procfile"] = exc.message
            return None

    @cached_property
    def dockerfiles(self) -> dict[str, list[Command]]:
        return {
            f.path: dockerfile_instructions(f.text or "")
            for f in self.named("Dockerfile*", "Containerfile*", "*.Dockerfile")
            if f.text is not None
        }

    # Reporting -------------------------------------------------------------------------------------
    def report(
        self,
        rule: str,
        path: str,
        line: int,
        message: str,
        *,
        column: int = 1,
        severity: Severity | None = None,
        secret: str | None = None,
    ) -> None:
        """Record a finding; the snippet is the source line with ``secret`` masked."""
        doc = RULES[rule]
        snippet = ""
        text = self.text(path)
        if text is not None and line > 0:
            lines = text.splitlines()
            snippet = lines[line - 1].strip() if line <= len(lines) else ""
        if secret:
            snippet = mask(snippet, secret)
        self.findings.append(
            Finding(
                rule=rule,
                severity=doc.severity if severity is None else severity,
                confidence=doc.confidence,
                path=path,
                line=line,
                column=column,
                message=message,
                snippet=snippet[:200],
                secret_hash=secret_digest(secret) if secret else None,
                factor=doc.factor,
            )
        )
