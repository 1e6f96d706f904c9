"""One Airflow deployment and one Kling emulator process, shared by every end-to-end test of this package.

Both are started on first use and stopped after the last test of ``tests/e2e`` (package scope), also when a
test fails: each component runs in its own process group, and the finalizer terminates, then kills, every
group. The deployment's home (SQLite DB, task and component logs), the screenshots and ``report.json`` are
kept under ``artifacts/e2e/`` for inspection; the folder is emptied when the next run starts.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import events
from tests.e2e.deployment import ARTIFACTS, AirflowApi, AirflowDeployment, EmulatorProcess
from tests.e2e.helpers import (
    ACCESS_KEY,
    FORM_ACCESS_KEY,
    FORM_SECRET_KEY,
    REPORT,
    SECRET_KEY,
    TOKEN,
    record,
)

DAG_IDS = (
    "e2e_deferral",
    "e2e_gallery_media",
    "e2e_gallery_private",
    "example_kling_review_and_publish",
    "e2e_canary",
    "e2e_worker_kill",
    "e2e_batch",
    "e2e_policy_failure",
    "e2e_secrets",
    "e2e_form_connection",
    *events.DAG_IDS,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs against a real Airflow deployment (tests/e2e)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/e2e/" in item.path.as_posix():
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    terminalreporter.section("Kling e2e: counts per scenario (also in artifacts/e2e/report.json)")
    for scenario, counts in REPORT.items():
        terminalreporter.line(f"{scenario}: {json.dumps(counts, sort_keys=True, default=str)}")


@dataclass
class E2E:
    airflow: AirflowDeployment
    kling: EmulatorProcess
    artifacts: Path

    @property
    def api(self) -> AirflowApi:
        return self.airflow.api


@pytest.fixture(scope="package")
def e2e() -> Iterator[E2E]:
    started = time.monotonic()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    home = ARTIFACTS / "airflow-home"
    home.mkdir(parents=True)
    kling = EmulatorProcess(
        ARTIFACTS,
        tokens=[TOKEN],
        access_keys={ACCESS_KEY: SECRET_KEY, FORM_ACCESS_KEY: FORM_SECRET_KEY},
        task_duration=3,
        submitted_seconds=0.5,
    )
    airflow = None
    try:
        connections = {
            "AIRFLOW_CONN_KLING_DEFAULT": {
                "conn_type": "kling",
                "host": kling.url,
                "password": TOKEN,
                "extra": {"timeout": 10, "max_retries": 5},
            },
            # The gateway prefix, an access key / secret key pair, and the legacy extra key names.
            "AIRFLOW_CONN_KLING_JWT": {
                "conn_type": "kling",
                "host": f"{kling.url}/kling",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "extra": {"extra__kling__timeout": 10, "extra__kling__max_retries": 5},
            },
        }
        airflow = AirflowDeployment(home, {name: json.dumps(conn) for name, conn in connections.items()})
        # Event-driven completion: Kling calls back the api-server, whose URL is known only now.
        airflow.env.update(events.events_connection(kling.url, airflow.url))
        airflow.start(DAG_IDS)
        record("deployment", startup_seconds=round(time.monotonic() - started, 1))
        yield E2E(airflow, kling, ARTIFACTS)
    finally:
        if airflow is not None:
            airflow.stop()
        kling.stop()
        if "deployment" in REPORT:
            record("deployment", **REPORT["deployment"], total_seconds=round(time.monotonic() - started, 1))
