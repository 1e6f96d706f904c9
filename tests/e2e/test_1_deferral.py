"""Scenarios 1 and 2: deferred waits hold no worker slot, and survive a triggerer killed with SIGKILL.

One run of ``e2e_deferral`` (five videos and one 3-image generation) serves both tests. The emulator's
generations are made to last an hour, so the tasks stay deferred for as long as the tests need; the second
test ends them by moving the emulator's clock forward once the restarted triggerer polls again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.deployment import PARALLELISM, wait_for
from tests.e2e.helpers import (
    ACCESS_KEY,
    FORM_SECRET_KEY,
    KLING_TRIGGER,
    SECRET_KEY,
    TOKEN,
    api_queries,
    external_id,
    media_urls,
    record,
    run_id,
)

DAG_ID = "e2e_deferral"
VIDEOS = [f"video_{index}" for index in range(5)]
TASKS = [*VIDEOS, "images"]


@pytest.fixture(scope="module")
def deferral_run(e2e: E2E) -> str:
    e2e.kling.reset(task_duration=3600)
    run = run_id("deferral")
    e2e.api.trigger(DAG_ID, run)
    return run


def wait_all_deferred(e2e: E2E, run: str, timeout: float = 120) -> dict[tuple[str, int], str | None]:
    def all_deferred() -> dict[tuple[str, int], str | None] | None:
        states = e2e.api.states(DAG_ID, run)
        return states if all(states.get((task, -1)) == "deferred" for task in TASKS) else None

    return wait_for(
        "all six Kling tasks to be deferred at once",
        all_deferred,
        timeout,
        interval=0.5,
        diagnose=lambda: f"states: {e2e.api.states(DAG_ID, run)}\n{e2e.airflow.diagnose()}",
    )


@pytest.mark.timeout(300)
def test_deferred_tasks_hold_no_worker_slot(e2e: E2E, deferral_run: str) -> None:
    started = time.monotonic()
    wait_all_deferred(e2e, deferral_run)
    seconds_to_all_deferred = round(time.monotonic() - started, 1)

    # Six tasks wait at once with four executor slots: each is parked on a Kling trigger, not on a worker.
    assert len(TASKS) > PARALLELISM
    tis = {ti["task_id"]: ti for ti in e2e.api.task_instances(DAG_ID, deferral_run)}
    for task_id in TASKS:
        assert tis[task_id]["trigger"]["classpath"] == KLING_TRIGGER, tis[task_id]
    pool = e2e.api.get("/pools/default_pool")
    assert pool["deferred_slots"] == len(TASKS), pool
    assert pool["running_slots"] == 0 and pool["queued_slots"] == 0 and pool["occupied_slots"] == 0, pool

    # Each Airflow task created exactly one Kling task, which is still generating.
    stats = e2e.kling.stats()
    assert stats["creates"] == len(TASKS), stats["creates_by_external_id"]
    assert set(stats["tasks_by_status"]) <= {"submitted", "processing"}, stats["tasks_by_status"]

    # The trigger kwargs (stored in the DB, shown by BaseTrigger.__repr__) carry ids, never credentials.
    kwargs = e2e.airflow.trigger_kwargs()
    assert len(kwargs) >= len(TASKS)
    for text in kwargs.values():
        assert "kling_conn_id" in text
        for secret in (TOKEN, ACCESS_KEY, SECRET_KEY, FORM_SECRET_KEY):
            assert secret not in text

    # A plain task still gets one of the worker slots while the six are deferred.
    canary = run_id("canary")
    e2e.api.trigger("e2e_canary", canary)
    assert e2e.api.wait_for_run("e2e_canary", canary, timeout=90) == "success"
    assert e2e.api.xcom("e2e_canary", canary, "canary") == "ran"
    states = e2e.api.states(DAG_ID, deferral_run)
    assert all(states[(task, -1)] == "deferred" for task in TASKS), states
    record(
        "1_deferred_no_worker_slot",
        airflow_tasks=len(TASKS),
        executor_slots=PARALLELISM,
        deferred_at_once=pool["deferred_slots"],
        running_slots=pool["running_slots"],
        kling_creates=stats["creates"],
        seconds_to_all_deferred=seconds_to_all_deferred,
        canary="success while all six deferred",
    )


@pytest.mark.timeout(300)
def test_triggerer_killed_mid_wait_then_restarted(e2e: E2E, deferral_run: str) -> None:
    api, kling, triggerer = e2e.api, e2e.kling, e2e.airflow.components["triggerer"]
    wait_all_deferred(e2e, deferral_run)
    assert set(kling.stats()["tasks_by_status"]) <= {"submitted", "processing"}

    triggerer.crash()  # SIGKILL to its whole process group, mid-wait
    time.sleep(0.5)  # a poll already on the wire is still answered
    polls_at_kill = api_queries(kling.stats())
    time.sleep(3)
    # The waits lived in the killed triggerer: nothing polls Kling now, and no task moved to a worker.
    assert api_queries(kling.stats()) == polls_at_kill
    states = api.states(DAG_ID, deferral_run)
    assert all(states[(task, -1)] == "deferred" for task in TASKS), states

    restarted = time.monotonic()
    e2e.airflow.restart("triggerer")
    wait_for(
        "the restarted triggerer to poll Kling again",
        lambda: api_queries(kling.stats()) > polls_at_kill,
        timeout=120,
        diagnose=lambda: triggerer.tail(30),
    )
    seconds_to_resume = round(time.monotonic() - restarted, 1)
    kling.configure(clock_offset=7200)  # every generation is now finished
    assert api.wait_for_run(DAG_ID, deferral_run, timeout=120) == "success"

    stats = kling.stats()
    expected_ids = {external_id(DAG_ID, task, deferral_run): task for task in TASKS}
    assert stats["creates"] == len(TASKS) and stats["create_attempts"] == len(TASKS)
    assert stats["creates_by_external_id"] == dict.fromkeys(expected_ids, 1)
    assert stats["tasks_by_status"] == {"succeed": len(TASKS)}
    tis = {ti["task_id"]: ti for ti in api.task_instances(DAG_ID, deferral_run)}
    trigger_logs: dict[str, int] = {}
    for task in TASKS:
        assert tis[task]["state"] == "success" and tis[task]["try_number"] == 1, tis[task]
        kling_task_id = api.xcom(DAG_ID, deferral_run, task, "kling_task_id")
        task_object = kling.task(kling_task_id)
        assert expected_ids[task_object["task_info"]["external_task_id"]] == task
        if task == "images":
            expected = media_urls(kling.url, kling_task_id, count=3, ext="png")
        else:
            expected = media_urls(kling.url, kling_task_id)
        assert api.xcom(DAG_ID, deferral_run, task) == expected, f"{task}: URLs not in Kling's order"
        # Both triggerers wrote a part of this task's log: the wait really moved to the new one.
        folder = Path(
            e2e.airflow.home, "logs", f"dag_id={DAG_ID}", f"run_id={deferral_run}", f"task_id={task}"
        )
        trigger_logs[task] = len(list(folder.glob("attempt=1.log.trigger.*.log")))
        assert trigger_logs[task] >= 2, sorted(p.name for p in folder.iterdir())
    record(
        "2_triggerer_sigkill",
        airflow_tasks=len(TASKS),
        kling_creates=stats["creates"],
        create_attempts=stats["create_attempts"],
        airflow_retries=0,
        seconds_from_restart_to_first_poll=seconds_to_resume,
        triggerer_log_parts_per_task=min(trigger_logs.values()),
        polls_total=api_queries(stats),
    )
