"""Source files are judged a batch at a time (so parses need not all be held at once); the batch
size must change nothing a user sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from twelve.audit import engine, run_check

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"


def findings(root: Path) -> list[tuple[str, str, int, str]]:
    return [(f.rule, f.path, f.line, f.message) for f in run_check(root).findings]


@pytest.mark.parametrize("rule", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_one_file_per_batch_finds_what_one_batch_finds(
    rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = findings(FIXTURES / rule)
    monkeypatch.setattr(engine, "BATCH", 1)
    assert findings(FIXTURES / rule) == whole


def test_facts_gathered_in_one_batch_decide_findings_of_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remote storage set in one module clears MEDIA_ROOT in another; a PostgreSQL URL in one module
    makes SQLite in another a parity finding, whichever batches they fall in."""
    (tmp_path / "requirements.txt").write_text("django==5.0\n")
    (tmp_path / "a_media.py").write_text('MEDIA_ROOT = "/srv/media"\n')
    (tmp_path / "b_storage.py").write_text(
        'DEFAULT_FILE_STORAGE = "storages.backends.s3boto3.S3Boto3Storage"\n'
    )
    (tmp_path / "c_local.py").write_text(
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}\n'
    )
    (tmp_path / "d_prod.py").write_text('URL = "postgresql://db.internal/app"\n')
    monkeypatch.setattr(engine, "BATCH", 1)
    rules = {(f.rule, f.path) for f in run_check(tmp_path).findings}
    assert ("storage.local-uploads", "a_media.py") not in rules
    assert ("parity.dev-prod-database", "c_local.py") in rules
