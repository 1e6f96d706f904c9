"""Scenarios 2 and 5: a triggerer SIGKILLed while it holds 100 waits, then both triggerers down for 60 s.

One run of ``dist_waits`` serves both. The second triggerer is stopped while the 100 generations defer, so
the first one holds every wait; then the second comes back and the first is SIGKILLed. Airflow's triggerer
health check must hand all 100 waits to the survivor, which must poll each of them, without a single
extra create. Then two image generations that never finish defer (``dist_deadlines``): one's deadline falls
inside a 60 s outage of both triggerers, the other's after it. When the triggerers are back, every wait
resumes: the first timeout fires as soon as its trigger starts again, the second at its original deadline.

The generations last an hour of the emulator's clock, so that however slowly this machine submits them
they are all still running when the triggerer dies; the clock jumps ahead during the outage, so that the
waits find them finished when the triggerers return.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.deployment import wait_for
from tests.e2e.distributed.conftest import Cluster
from tests.e2e.distributed.dags.kling_distributed import DEADLINE_AFTER_OUTAGE, DEADLINE_DURING_OUTAGE
from tests.e2e.distributed.figures import collect, summary
from tests.e2e.distributed.report import record
from tests.e2e.distributed.topology import TRIGGERER_HEALTH_CHECK_THRESHOLD, DistributedDeployment
from tests.e2e.helpers import run_id

DAG_ID = "dist_waits"
DEADLINES_DAG_ID = "dist_deadlines"
WAITS = 100
OUTAGE_SECONDS = 60
A, B = "triggerer", "triggerer-2"
DURING, AFTER = "deadline_during_outage", "deadline_after_outage"


def _end(ti: dict[str, Any]) -> float:
    return datetime.fromisoformat(ti["end_date"]).timestamp()


def _trigger_times(airflow: DistributedDeployment, run: str, task_id: str) -> tuple[float, float]:
    """When the last triggerer to run a task's trigger started it, and when it fired."""
    log = airflow.trigger_log(DEADLINES_DAG_ID, run, task_id)
    started = max(t for t, message in log if message.endswith("starting"))
    fired = max(t for t, message in log if message == "Trigger fired event")
    return started, fired


@pytest.mark.timeout(900)
def test_triggerer_killed_with_100_waits_then_both_down(cluster: Cluster) -> None:
    api, kling, airflow = cluster.api, cluster.kling, cluster.airflow
    kling.reset(task_duration=3600, task_durations={"generations": 10**7})
    cluster.size_pool(WAITS)
    airflow.take_down(B)
    wait_for("only one triggerer alive", lambda: len(airflow.alive_triggerer_jobs()) == 1, 60)
    (job_a,) = airflow.alive_triggerer_jobs()
    run = run_id("waits")
    api.trigger(DAG_ID, run, {"count": WAITS, "label": "Scenario 2"})
    wait_for(
        f"the first triggerer to hold all {WAITS} waits",
        lambda: airflow.triggers_by_triggerer(DAG_ID, run) == {job_a: WAITS},
        480,
        1.0,
        lambda: airflow.triggers_by_triggerer(DAG_ID, run),
    )
    airflow.bring_back(B)
    wait_for("the second triggerer to heartbeat", lambda: len(airflow.alive_triggerer_jobs()) == 2, 120)
    (job_b,) = set(airflow.alive_triggerer_jobs()) - {job_a}
    polls_before = dict(kling.stats()["queries_by_task"])

    airflow.crash(A)  # SIGKILL to the triggerer's whole process group, 100 waits in it
    killed = time.monotonic()
    wait_for(
        f"the second triggerer to take all {WAITS} waits",
        lambda: airflow.triggers_by_triggerer(DAG_ID, run) == {job_b: WAITS},
        TRIGGERER_HEALTH_CHECK_THRESHOLD + 90,
        0.5,
        lambda: airflow.triggers_by_triggerer(DAG_ID, run),
    )
    reassigned = time.monotonic() - killed

    def every_wait_polled_again() -> bool:
        polls = kling.stats()["queries_by_task"]
        return len(polls) == WAITS and all(polls[task] > polls_before.get(task, 0) for task in polls)

    wait_for("the second triggerer to poll every wait", every_wait_polled_again, 90, 0.5)
    polled = time.monotonic() - killed
    at_takeover = kling.stats()
    assert at_takeover["creates"] == WAITS and at_takeover["tasks_by_status"] == {"processing": WAITS}
    airflow.bring_back(A)  # the killed machine is replaced

    # Scenario 5: two waits that never end defer, then both triggerers go down for a minute.
    deadlines_run = run_id("deadlines")
    api.trigger(DEADLINES_DAG_ID, deadlines_run)
    wait_for(
        "both deadline tasks to defer",
        lambda: set(airflow.trigger_deadlines(DEADLINES_DAG_ID, deadlines_run)) == {DURING, AFTER},
        180,
    )
    deadlines = airflow.trigger_deadlines(DEADLINES_DAG_ID, deadlines_run)
    airflow.take_down(A, B)
    down = time.time()
    polls_at_outage = sum(kling.stats()["queries_by_task"].values())
    kling.configure(clock_offset=3700)  # every generation ends while nobody watches; the images never do
    time.sleep(OUTAGE_SECONDS)
    assert sum(kling.stats()["queries_by_task"].values()) == polls_at_outage, "a wait was polled while down"
    waiting = sum(state == "deferred" for state in api.states(DAG_ID, run).values())
    back = time.time()
    airflow.bring_back(A)
    airflow.bring_back(B)

    assert api.wait_for_run(DEADLINES_DAG_ID, deadlines_run, timeout=DEADLINE_AFTER_OUTAGE + 180) == "failed"
    assert api.wait_for_run(DAG_ID, run, timeout=400) == "success"
    generations = collect(api, kling, DAG_ID, run, WAITS)
    figures = summary(generations, airflow.worker_runs())
    deadline_tis = {ti["task_id"]: ti for ti in api.task_instances(DEADLINES_DAG_ID, deadlines_run)}
    during_started, during_fired = _trigger_times(airflow, deadlines_run, DURING)
    _, after_fired = _trigger_times(airflow, deadlines_run, AFTER)
    record(
        "2_triggerer_sigkill_100_waits",
        tasks=WAITS,
        kling_creates=at_takeover["creates"],
        duplicates=figures["duplicates"],
        requests_per_task=figures["requests_per_task"],
        waits_held_by_killed_triggerer=WAITS,
        health_check_threshold_s=TRIGGERER_HEALTH_CHECK_THRESHOLD,
        recovery_all_waits_reassigned_s=round(reassigned, 1),
        recovery_all_waits_polled_s=round(polled, 1),
        worker_slot_s_per_generation=figures["worker_slot_s_per_generation"],
        airflow_tries=figures["airflow_tries"],
    )
    record(
        "5_both_triggerers_down_60s",
        tasks=WAITS + 2,
        kling_creates=generations.stats["creates"],
        duplicates=generations.duplicates,
        requests_per_task=figures["requests_per_task"],
        outage_s=round(back - down, 1),
        waits_deferred_during_outage=waiting,
        deadline_during_outage_fired_after_trigger_restart_s=round(during_fired - during_started, 1),
        deadline_after_outage_fired_after_deadline_s=round(after_fired - deadlines[AFTER], 1),
        deadline_after_outage_fired_after_back_s=round(after_fired - back, 1),
        recovery_back_to_run_end_s=round(max(map(_end, generations.task_instances.values())) - back, 1),
    )

    # 2: every wait moved to the survivor and was polled there; nothing was created twice or retried.
    assert generations.duplicates == 0 and figures["kling_tasks"] == WAITS
    assert generations.stats["creates"] == WAITS + len(deadline_tis)  # and the two images of scenario 5
    assert all(
        ti["state"] == "success" and ti["try_number"] == 1 for ti in generations.task_instances.values()
    )
    # 5: the waits outlived the outage, and each deadline is the absolute one set at deferral.
    assert waiting == WAITS
    assert down < deadlines[DURING] < back < deadlines[AFTER]
    assert abs((deadlines[AFTER] - deadlines[DURING]) - (DEADLINE_AFTER_OUTAGE - DEADLINE_DURING_OUTAGE)) < 15
    for task in (DURING, AFTER):
        assert deadline_tis[task]["state"] == "failed" and deadline_tis[task]["try_number"] == 1
    # The one that expired while nobody watched fires as soon as its trigger runs again, not 40 s later ...
    assert during_started >= back and during_fired - during_started < DEADLINE_DURING_OUTAGE / 3
    # ... and the other at its deadline, not 100 s after the triggerers came back.
    assert deadlines[AFTER] <= after_fired < deadlines[AFTER] + 5
    assert "did not finish before the deadline" in api.log(DEADLINES_DAG_ID, deadlines_run, DURING, 1)
