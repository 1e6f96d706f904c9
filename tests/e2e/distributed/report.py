"""Each scenario's figures: printed after the session and kept in artifacts/e2e-distributed/report.json."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.deployment import ROOT

ARTIFACTS = ROOT / "artifacts" / "e2e-distributed"
#: Scenario -> figures, in the order the scenarios ran.
REPORT: dict[str, dict[str, Any]] = {}


def record(scenario: str, **figures: Any) -> None:
    REPORT[scenario] = figures
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.json").write_text(json.dumps(REPORT, indent=2, default=str))


def lines() -> list[str]:
    return [f"{scenario}: {json.dumps(figures, default=str)}" for scenario, figures in REPORT.items()]
