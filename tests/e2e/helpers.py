"""What the end-to-end tests share: the credentials, expected ids and URLs, and the per-scenario report."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from tests.e2e.deployment import ARTIFACTS

# Distinctive credentials: the secrets scan greps for each of them (and for any JWT) after the runs.
TOKEN = "sk-e2e-token-6c1f0a9e47b24d8fb3a1c5d7e9f20b48"
ACCESS_KEY = "ak-e2e-access-93b7d1f5c2e84a60"
SECRET_KEY = "sk-e2e-secret-2f8a4c6e0b1d3f5a7c9e1b3d5f7a9c0e"
# The connection-form test's own pair. Airflow shows a connection's login in its API, so the scan looks for
# this access key only where no connection is listed (logs, XCom, rendered fields).
FORM_ACCESS_KEY = "ak-e2e-form-5e2c8a1f7b3d9e40"
FORM_SECRET_KEY = "sk-e2e-form-secret-7d3b9f1e5a2c8e4b6d0f2a4c6e8b0d1f"
KLING_TRIGGER = "airflow_provider_kling.triggers.kling.KlingTaskTrigger"

#: Scenario -> counts, printed at the end of the session and kept in artifacts/e2e/report.json.
REPORT: dict[str, dict[str, Any]] = {}


def run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def external_id(dag_id: str, task_id: str, run: str, map_index: int = -1, try_number: int = 1) -> str:
    """The ``external_task_id`` the operator derives for one try (see ``KlingCreateTaskOperator``)."""
    digest = hashlib.sha256(f"{dag_id}|{task_id}|{run}|{map_index}".encode()).hexdigest()[:24]
    return f"airflow-{digest}-{try_number}"


def media_urls(kling_url: str, kling_task_id: str, count: int = 1, ext: str = "mp4") -> list[str]:
    """The result URLs the emulator serves for a task, in Kling's order."""
    return [f"{kling_url}/media/{kling_task_id}/{index}.{ext}" for index in range(count)]


def api_queries(stats: dict[str, Any]) -> int:
    """Queries of single tasks that reached the emulator's handler (by id or external id)."""
    return sum(stats["queries_by_task"].values())


def record(scenario: str, **counts: Any) -> None:
    REPORT[scenario] = counts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.json").write_text(json.dumps(REPORT, indent=2, sort_keys=True, default=str))
