"""Scenario 6: a generation that Kling fails (content policy) fails the Airflow task with Kling's reason.

The generation lasts 10 s on purpose: when a trigger fires within about five seconds of the deferral,
Airflow 3.3's scheduler may process the worker's pre-deferral exit after the resumed try has started, log
"state mismatch" and retry the task itself, whatever the operator raised (see test_3_faults).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.helpers import record, run_id

DAG_ID = "e2e_policy_failure"
REASON = "Content policy violation: the prompt was rejected by the safety review (E2E-4711)"


@pytest.mark.timeout(180)
def test_failed_generation_fails_the_task_with_klings_message(e2e: E2E) -> None:
    api, kling = e2e.api, e2e.kling
    kling.reset(task_duration=10, fail_next={"count": 1, "message": REASON})
    run = run_id("policy")
    api.trigger(DAG_ID, run)
    assert api.wait_for_run(DAG_ID, run, timeout=120) == "failed"

    (ti,) = api.task_instances(DAG_ID, run)
    mismatches = api.get("/eventLogs", dag_id=DAG_ID, run_id=run, event="state mismatch")["total_entries"]
    assert not mismatches, "Airflow failed the resumed try itself (state mismatch): not the operator's doing"
    # AirflowFailException: the task's two retries are not used, a retry cannot change Kling's verdict.
    assert ti["state"] == "failed" and ti["try_number"] == 1, ti
    log = api.log(DAG_ID, run, "generate", 1)
    assert REASON in log, log[-3000:]
    stats = kling.stats()
    assert stats["creates"] == 1 and stats["tasks_by_status"] == {"failed": 1}
    record(
        "6_failed_generation",
        airflow_state=ti["state"],
        airflow_tries=ti["try_number"],
        kling_creates=stats["creates"],
        message_in_task_log=True,
    )
