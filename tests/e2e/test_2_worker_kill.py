"""Scenario 3: the task process is SIGKILLed right after its create request; the retry re-attaches.

The emulator creates the Kling task at once but holds its answer back for two minutes, so the first try's
process is known to be blocked inside the create call when the test kills it. Airflow's retry must find
the task by the first try's ``external_task_id`` and wait for it instead of creating a second one.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.deployment import wait_for
from tests.e2e.helpers import external_id, media_urls, record, run_id

DAG_ID = "e2e_worker_kill"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.timeout(240)
def test_worker_killed_after_create_reattaches_on_retry(e2e: E2E) -> None:
    api, kling = e2e.api, e2e.kling
    kling.reset(task_duration=3, fail_requests=[{"delay": 120, "scope": "create"}])
    run = run_id("worker-kill")
    api.trigger(DAG_ID, run)
    pid_file = e2e.airflow.state_dir / f"{DAG_ID}.{run}.generate.1.pid"

    stats = wait_for(
        "the first try to send its create request",
        lambda: (s := kling.stats())["creates"] >= 1 and pid_file.exists() and s,
        timeout=120,
        interval=0.1,
        diagnose=lambda: f"states: {api.states(DAG_ID, run)}",
    )
    pid = int(pid_file.read_text())
    assert _alive(pid), "the first try's process ended before it could be killed"
    first_id = external_id(DAG_ID, "generate", run, try_number=1)
    assert stats["creates_by_external_id"] == {first_id: 1}
    os.kill(pid, signal.SIGKILL)  # the task process, blocked waiting for the create's answer
    wait_for(f"task process {pid} to die", lambda: not _alive(pid), timeout=10, interval=0.1)

    assert api.wait_for_run(DAG_ID, run, timeout=150) == "success"
    (ti,) = api.task_instances(DAG_ID, run)
    assert ti["state"] == "success" and ti["try_number"] == 2, ti

    stats = kling.stats()
    assert stats["creates"] == 1 and stats["create_attempts"] == 1, stats["creates_by_external_id"]
    assert stats["creates_by_external_id"] == {first_id: 1}  # the retry sent no create at all
    assert stats["queries_by_external_id"].get(first_id, 0) >= 1  # it looked the first try's id up
    kling_task_id = api.xcom(DAG_ID, run, "generate", "kling_task_id")
    assert kling.task(kling_task_id)["task_info"]["external_task_id"] == first_id
    assert api.xcom(DAG_ID, run, "generate") == media_urls(kling.url, kling_task_id)
    retry_log = api.log(DAG_ID, run, "generate", 2)
    assert "Re-attaching to Kling task" in retry_log and first_id in retry_log
    record(
        "3_worker_sigkill_after_create",
        airflow_tries=ti["try_number"],
        kling_creates=stats["creates"],
        create_attempts=stats["create_attempts"],
        lookups_by_external_id=stats["queries_by_external_id"].get(first_id, 0),
        api_requests_total=stats["requests_total"],
    )
