"""Scenario 4: PostgreSQL restarted while a batch is being submitted, deferred and resumed.

A fast shutdown cuts every session of every component; the database stays down for a few seconds and comes
back. Components that give up meanwhile are started again by the deployment's restart policy (as systemd or
Kubernetes would). Celery tasks that a worker receives while the database (Celery's result backend) is down
fail before they start, so their task instances stay queued. The restarted scheduler adopts the queued tasks
of the one that died (``[scheduler] orphaned_tasks_check_interval`` after its health check threshold) and
queues them again once ``[scheduler] task_queued_timeout`` has passed; the retry re-attaches or creates. The
run must end with every generation made exactly once.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.deployment import wait_for
from tests.e2e.distributed.conftest import Cluster
from tests.e2e.distributed.figures import collect, summary
from tests.e2e.distributed.report import record
from tests.e2e.distributed.topology import ORPHANED_TASKS_CHECK_INTERVAL, TASK_QUEUED_TIMEOUT
from tests.e2e.helpers import run_id

DAG_ID = "dist_generations"
GENERATIONS = 40
DOWN_SECONDS = 5


@pytest.mark.timeout(600)
def test_postgres_restarted_mid_run(cluster: Cluster) -> None:
    api, kling, airflow = cluster.api, cluster.kling, cluster.airflow
    kling.reset(task_duration=10, task_duration_spread=20)
    cluster.size_pool(GENERATIONS)
    restarts_before = dict(airflow.policy_restarts)
    run = run_id("postgres")
    api.trigger(DAG_ID, run, {"count": GENERATIONS, "label": "Scenario 4"})
    # Restart while some generations are created and others still wait for a worker.
    wait_for("a third of the batch to be created", lambda: kling.stats()["creates"] >= GENERATIONS // 3, 180)
    creates_at_restart = kling.stats()["creates"]
    down = airflow.postgres.restart(DOWN_SECONDS)
    back = time.monotonic()
    state = api.wait_for_run(DAG_ID, run, timeout=TASK_QUEUED_TIMEOUT + 240)
    recovered = time.monotonic() - back
    generations = collect(api, kling, DAG_ID, run, GENERATIONS)
    figures = summary(generations, airflow.worker_runs())
    restarts = {
        name: count - restarts_before.get(name, 0)
        for name, count in airflow.policy_restarts.items()
        if count > restarts_before.get(name, 0)
    }
    record(
        "4_postgres_restart",
        **{key: figures[key] for key in ("tasks", "kling_creates", "duplicates", "requests_per_task")},
        creates_before_restart=creates_at_restart,
        task_queued_timeout_s=TASK_QUEUED_TIMEOUT,
        orphaned_tasks_check_interval_s=ORPHANED_TASKS_CHECK_INTERVAL,
        database_down_s=round(down, 1),
        component_restarts=restarts,
        recovery_db_back_to_run_end_s=round(recovered, 1),
        **{key: figures[key] for key in ("delay_p50_s", "delay_p99_s", "worker_slot_s_per_generation")},
        airflow_tries=figures["airflow_tries"],
    )

    assert generations.duplicates == 0, {i: t for i, t in generations.kling_tasks.items() if len(t) > 1}
    assert state == "success", generations.tries()
    assert [ti["state"] for ti in generations.task_instances.values()] == ["success"] * GENERATIONS
    assert figures["kling_creates"] == figures["kling_tasks"] == GENERATIONS
