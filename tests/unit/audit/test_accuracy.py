"""The corpus scorer: what counts as found, missed and a false alarm, as the accuracy bench reports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from twelve.audit.accuracy import Hit, Label, Manifest, load_manifest, sarif_hits, score


def manifest(*labels: Label) -> Manifest:
    return Manifest("owner/app", "0" * 40, "tuning", labels)


PORT = "port.hardcoded-port"
SECRET = "config.hardcoded-secret"


def test_a_violation_reported_at_its_line_is_found_and_one_elsewhere_is_missed() -> None:
    labels = (Label("Dockerfile", 9, PORT, True, "CMD"), Label("boot.sh", 3, PORT, True, "exec"))
    result = score(manifest(*labels), [Hit(PORT, "Dockerfile", 9)])
    tally = result.rules[PORT]
    assert (tally.tp, tally.fp, tally.fn) == (1, 0, 1)
    assert [label.path for _, label in result.missed] == ["boot.sh"]
    assert tally.recall == 0.5


def test_a_finding_within_two_lines_counts_but_not_three_lines_away() -> None:
    label = Label("app.py", 10, PORT, True, "run")
    assert score(manifest(label), [Hit(PORT, "app.py", 12)]).rules[PORT].tp == 1
    far = score(manifest(label), [Hit(PORT, "app.py", 13)]).rules[PORT]
    assert (far.tp, far.fn, far.unlabeled) == (0, 1, 1)


def test_each_finding_on_a_trap_is_a_false_alarm_and_a_whole_file_trap_covers_every_line() -> None:
    labels = (
        Label("settings.py", 5, SECRET, False, "placeholder"),
        Label("generated.ts", 0, SECRET, False, "generated"),
    )
    hits = [
        Hit(SECRET, "settings.py", 5),
        Hit(SECRET, "generated.ts", 40),
        Hit(SECRET, "generated.ts", 900),
    ]
    tally = score(manifest(*labels), hits).rules[SECRET]
    assert (tally.tp, tally.fp) == (0, 3)
    assert tally.precision == 0.0


def test_findings_of_unscored_rules_are_ignored_and_unlabeled_ones_kept_apart() -> None:
    label = Label("server.js", 4, PORT, True, "listen")
    hits = [
        Hit("deps.unpinned", "package.json", 3),
        Hit(PORT, "other.js", 1),
        Hit(PORT, "server.js", 4),
    ]
    result = score(manifest(label), hits)
    assert set(result.rules) == {PORT}
    assert (result.rules[PORT].tp, result.rules[PORT].unlabeled) == (1, 1)
    assert result.overall().precision == 1.0


def test_two_findings_on_one_violation_count_once() -> None:
    label = Label("uwsgi.ini", 4, PORT, True, "socket")
    tally = score(manifest(label), [Hit(PORT, "uwsgi.ini", 4), Hit(PORT, "uwsgi.ini", 4)]).rules[
        PORT
    ]
    assert (tally.tp, tally.fp, tally.fn) == (1, 0, 0)


def test_sarif_results_are_read_as_rule_path_and_line() -> None:
    sarif = {
        "runs": [
            {
                "results": [
                    {
                        "ruleId": PORT,
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "a.py"},
                                    "region": {"startLine": 7},
                                }
                            }
                        ],
                    },
                    {
                        "ruleId": SECRET,
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": ".env"}}}],
                    },
                ]
            }
        ]
    }
    assert sarif_hits(sarif) == [Hit(PORT, "a.py", 7), Hit(SECRET, ".env", 0)]


def test_a_malformed_manifest_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "owner+app.toml"
    path.write_text('repository = "owner/app"\ncommit = "abc"\nsplit = "later"\n')
    with pytest.raises(ValueError, match=r"owner\+app\.toml: split must be one of"):
        load_manifest(path)
    path.write_text(
        'repository = "owner/app"\ncommit = "abc"\nsplit = "tuning"\n'
        '[[label]]\npath = "a"\nline = 1\nrule = "x.y"\nverdict = "maybe"\nreason = "r"\n'
    )
    with pytest.raises(ValueError, match="verdict must be violation or fine"):
        load_manifest(path)
