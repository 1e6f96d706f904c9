"""DAGs of the distributed suite (``tests/e2e/distributed``), run by Celery workers and two triggerers.

The connection is ``AIRFLOW_CONN_KLING_DEFAULT`` (a Bearer token to the emulator). Generations go through the
``kling_video`` pool, which counts deferred tasks and which each test sizes for the emulated account's
concurrency, as a production deployment would.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.kling import KlingImageGenerationOperator, KlingTextToVideoOperator

START = datetime(2026, 1, 1)
POOL = "kling_video"
STATE_DIR = Path(os.environ.get("KLING_E2E_STATE_DIR", "/tmp/kling-e2e-state"))
#: The timeouts of ``dist_deadlines``: one deadline passes while both triggerers are down, one after.
DEADLINE_DURING_OUTAGE = 40
DEADLINE_AFTER_OUTAGE = 100


def record_pid(context: Any) -> None:
    """``pre_execute``: tell the test which process runs this try, so that it can kill its Celery worker."""
    ti = context["ti"]
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / f"{ti.dag_id}.{ti.run_id}.{ti.task_id}.{ti.try_number}.pid").write_text(str(os.getpid()))


def _dag(dag_id: str, doc: str) -> DAG:
    return DAG(
        dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        tags=["kling-distributed"],
        doc_md=doc,
        max_active_tasks=64,
    )


@task
def prompts(count: Any, label: Any) -> list[str]:
    """The run's prompts; their number comes from the run's conf, so one DAG serves every batch size."""
    return [
        f"{label} {index:03d}: a paper lantern drifting over a night river" for index in range(int(count))
    ]


def generations(dag_id: str, doc: str, **wait: Any) -> None:
    """A batch of mapped generations through the ``kling_video`` pool (the run's conf says how many). A
    success ends in the triggerer (``end_from_trigger``), as docs/production.md recommends for batches."""
    with _dag(dag_id, doc):
        KlingTextToVideoOperator.partial(
            task_id="generate",
            pool=POOL,
            retries=3,
            retry_delay=timedelta(seconds=5),
            submit_retry_delay=5,
            deferrable=True,
            end_from_trigger=True,
            **wait,
        ).expand(
            prompt=prompts(
                "{{ dag_run.conf.get('count', 10) }}", "{{ dag_run.conf.get('label', 'distributed') }}"
            )
        )


# 1 and 4: the provider's default wait timing for videos (first poll 30 s after creation, then every 14 s).
generations("dist_generations", "Mapped text-to-video generations with the default wait timing.")

# 2 and 5: waits that a killed triggerer hands over, then both triggerers stop for a minute. Polls every 5 s
# (first 10 s after creation), so that a wait's move to another triggerer shows in Kling's request log soon.
generations("dist_waits", "Mapped generations polled every 5 s.", poll_interval=5, initial_delay=10)

# 3: the test SIGKILLs the Celery worker running try 1 right after its create request.
with _dag("dist_worker_kill", "One generation whose Celery worker dies mid-create."):
    KlingTextToVideoOperator(
        task_id="generate",
        prompt="Distributed worker kill",
        retries=2,
        retry_delay=timedelta(seconds=2),
        pre_execute=record_pid,
        poll_interval=2,
        initial_delay=2,
        deferrable=True,
    )

# 5: waits whose absolute deadlines fall inside and after a 60 s outage of both triggerers.
with _dag("dist_deadlines", "Two image generations that never finish: each must time out at its deadline."):
    for name, seconds in (("during_outage", DEADLINE_DURING_OUTAGE), ("after_outage", DEADLINE_AFTER_OUTAGE)):
        KlingImageGenerationOperator(
            task_id=f"deadline_{name}", prompt=f"Deadline {name}", timeout=seconds, deferrable=True
        )
