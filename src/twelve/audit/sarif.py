"""SARIF 2.1.0 output that GitHub code scanning accepts (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twelve import __version__
from twelve.audit.findings import Finding, Severity
from twelve.audit.report import Report
from twelve.audit.ruledocs import RULES, RuleDoc

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub's scale for security-severity: 9.0+ critical, 7.0+ high, 4.0+ medium, below low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


def _rule(doc: RuleDoc) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "tags": ["twelve-factor", f"factor-{doc.factor}"] + (["security"] if doc.secret else []),
        "precision": {"high": "high", "medium": "medium", "low": "low"}[doc.confidence],
    }
    if doc.secret:
        properties["security-severity"] = _SECURITY_SEVERITY[doc.severity]
    return {
        "id": doc.id,
        "name": doc.id.replace(".", "/"),
        "shortDescription": {"text": doc.title},
        "fullDescription": {"text": f"{doc.title}. {doc.why}"},
        "help": {"text": doc.explain(), "markdown": _markdown(doc)},
        "helpUri": doc.help_uri,
        "defaultConfiguration": {"level": _LEVEL[doc.severity]},
        "properties": properties,
    }


def _markdown(doc: RuleDoc) -> str:
    return (
        f"**{doc.title}**\n\n{doc.why}\n\n**Fix:** {doc.fix}\n\n"
        f"Flagged:\n\n```\n{doc.bad}\n```\n\nFine:\n\n```\n{doc.good}\n```\n"
    )


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"}}
    if finding.line > 0:
        physical["region"] = {"startLine": finding.line, "startColumn": max(finding.column, 1)}
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{finding.message}. Fix: {RULES[finding.rule].fix}"},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"twelveFingerprint/v1": finding.fingerprint},
    }
    if RULES[finding.rule].secret:
        result["properties"] = {"security-severity": _SECURITY_SEVERITY[finding.severity]}
    return result


def to_sarif(report: Report) -> str:
    """One run with every rule (so suppressed and fixed ones keep their help) and every finding."""
    docs = list(RULES.values())
    index = {doc.id: i for i, doc in enumerate(docs)}
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "twelve check",
                        "version": __version__,
                        "informationUri": "https://12factor.net/",
                        "rules": [_rule(doc) for doc in docs],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(report.root).as_uri() + "/"}},
                "results": [_result(f, index) for f in report.findings],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
