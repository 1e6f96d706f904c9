"""Scenario 3: a Celery worker SIGKILLed right after its task's create request; the retry re-attaches.

The emulator creates the Kling task at once but holds its answer back for two minutes, so the first try is
known to be inside the create call when the test kills its whole Celery worker (the worker process, its pool
and the task process). Nobody reports the try's end: the scheduler finds it when its heartbeat is
``TASK_HEARTBEAT_TIMEOUT`` seconds old and retries it on the other worker, where it must find the Kling task
by the first try's ``external_task_id`` instead of creating another.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.deployment import wait_for
from tests.e2e.distributed.conftest import Cluster
from tests.e2e.distributed.report import record
from tests.e2e.distributed.topology import TASK_HEARTBEAT_TIMEOUT, WORKERS
from tests.e2e.helpers import external_id, media_urls, run_id

DAG_ID = "dist_worker_kill"


@pytest.mark.timeout(300)
def test_celery_worker_killed_after_create_reattaches(cluster: Cluster) -> None:
    api, kling, airflow = cluster.api, cluster.kling, cluster.airflow
    kling.reset(task_duration=5, fail_requests=[{"delay": 120, "scope": "create"}])
    run = run_id("worker-kill")
    api.trigger(DAG_ID, run)
    pid_file = airflow.state_dir / f"{DAG_ID}.{run}.generate.1.pid"
    wait_for(
        "the first try to send its create request",
        lambda: kling.stats()["creates"] >= 1 and pid_file.exists(),
        120,
        0.1,
        lambda: f"states: {api.states(DAG_ID, run)}",
    )
    first_id = external_id(DAG_ID, "generate", run, try_number=1)
    assert kling.stats()["creates_by_external_id"] == {first_id: 1}
    killed_worker = airflow.worker_of(int(pid_file.read_text()))
    airflow.crash(killed_worker)  # the worker, its pool processes and the task process blocked in create
    killed = time.monotonic()

    assert api.wait_for_run(DAG_ID, run, timeout=TASK_HEARTBEAT_TIMEOUT + 150) == "success"
    recovered = time.monotonic() - killed
    airflow.bring_back(killed_worker)
    (ti,) = api.task_instances(DAG_ID, run)
    stats = kling.stats()
    kling_task_id = api.xcom(DAG_ID, run, "generate", "kling_task_id")
    retries = [r for r in airflow.worker_runs() if r.run_id == run and r.try_number == 2]
    record(
        "3_celery_worker_sigkill_after_create",
        tasks=1,
        airflow_tries=ti["try_number"],
        kling_creates=stats["creates"],
        duplicates=stats["creates"] - 1,
        create_attempts=stats["create_attempts"],
        lookups_by_external_id=stats["queries_by_external_id"].get(first_id, 0),
        requests_per_task=stats["requests_total"],
        task_heartbeat_timeout_s=TASK_HEARTBEAT_TIMEOUT,
        recovery_kill_to_success_s=round(recovered, 1),
        retry_ran_on=sorted({r.worker for r in retries}),
        worker_slot_s_of_retry=round(sum(r.seconds for r in retries), 2),
    )

    assert ti["state"] == "success" and ti["try_number"] == 2, ti
    assert stats["creates"] == 1 and stats["create_attempts"] == 1, stats["creates_by_external_id"]
    assert stats["queries_by_external_id"].get(first_id, 0) >= 1  # the retry looked the first try's id up
    assert kling.task(kling_task_id)["task_info"]["external_task_id"] == first_id
    assert api.xcom(DAG_ID, run, "generate") == media_urls(kling.url, kling_task_id)
    # The retry ran on the surviving worker (the killed one was still down).
    assert {r.worker for r in retries} == set(WORKERS) - {killed_worker}
    assert "Re-attaching to Kling task" in api.log(DAG_ID, run, "generate", 2)
