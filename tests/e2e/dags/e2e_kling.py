"""DAGs of the end-to-end suite (``tests/e2e``), run by a real scheduler, triggerer and LocalExecutor.

Connections come from ``AIRFLOW_CONN_KLING_DEFAULT`` (a Bearer token), ``AIRFLOW_CONN_KLING_JWT`` (access key
and secret key, gateway prefix ``/kling``) and, for the connection-form test, ``kling_form`` created through
the UI. Waits poll every second from the start (``FAST``): the emulator's generations take seconds, not
minutes, unlike the per-task-type defaults.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.kling import KlingImageGenerationOperator, KlingTextToVideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

START = datetime(2026, 1, 1)
FAST: dict[str, Any] = {"poll_interval": 1, "initial_delay": 0, "submit_retry_delay": 1, "timeout": 900}
STATE_DIR = Path(os.environ.get("KLING_E2E_STATE_DIR", "/tmp/kling-e2e-state"))
DEFERRAL_VIDEOS = 5
BATCH_PROMPTS = [f"E2E prompt {i:02d}: a paper boat number {i} crossing a puddle" for i in range(50)]


def record_pid(context: Any) -> None:
    """``pre_execute``: tell the test which process runs this try, so that it can kill exactly that one."""
    ti = context["ti"]
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    name = f"{ti.dag_id}.{ti.run_id}.{ti.task_id}.{ti.try_number}.pid"
    (STATE_DIR / name).write_text(str(os.getpid()))


def _dag(dag_id: str, doc: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["kling-e2e"], doc_md=doc)


# 1, 2: six deferrable Kling tasks at once (more than the executor's 4 slots), then a triggerer crash.
with _dag("e2e_deferral", "Five videos and one 3-image generation, all deferred at the same time."):
    for index in range(DEFERRAL_VIDEOS):
        KlingTextToVideoOperator(task_id=f"video_{index}", prompt=f"E2E deferral video {index}", **FAST)
    KlingImageGenerationOperator(task_id="images", prompt="E2E deferral images", n=3, **FAST)

# 1: needs a worker slot while the six above are deferred.
with _dag("e2e_canary", "A plain task that needs a worker slot."):

    @task
    def canary() -> str:
        return "ran"

    canary()

# 3: the test SIGKILLs the try-1 process right after its create request; the retry must re-attach.
with _dag("e2e_worker_kill", "One Kling task whose first try is killed mid-create."):
    KlingTextToVideoOperator(
        task_id="generate",
        prompt="E2E worker kill",
        retries=1,
        retry_delay=timedelta(seconds=1),
        pre_execute=record_pid,
        **FAST,
    )

# 4: fifty prompts through a faulty Kling (JWT auth, gateway prefix), then one list of every URL.
with _dag("e2e_batch", "Fifty mapped generations against injected faults and a concurrency limit."):
    videos = KlingTextToVideoOperator.partial(
        task_id="generate", kling_conn_id="kling_jwt", retries=3, retry_delay=timedelta(seconds=2), **FAST
    ).expand(prompt=BATCH_PROMPTS)

    @task
    def collect(url_lists: list[list[str]]) -> list[str]:
        return [url for urls in url_lists for url in urls]

    collect(videos.output)

# 6: the emulator fails the generation with a content-policy message.
with _dag("e2e_policy_failure", "A generation that Kling rejects; retries must not help."):
    KlingTextToVideoOperator(
        task_id="generate",
        prompt="E2E policy failure",
        retries=2,
        retry_delay=timedelta(seconds=1),
        **FAST,
    )

# 5: both kinds of credentials, a templated field, the sensor and transient errors, for the secrets scan.
with _dag("e2e_secrets", "Token and JWT credentials through operators, the sensor and the triggerer."):
    submit = KlingImageGenerationOperator(
        task_id="jwt_submit",
        kling_conn_id="kling_jwt",
        prompt="{{ dag_run.conf.get('prompt', 'E2E secrets images') }}",
        n=2,
        wait_for_completion=False,
        **FAST,
    )
    wait = KlingTaskSensor(
        task_id="jwt_wait",
        kling_conn_id="kling_jwt",
        kling_task_id=submit.output,
        task_type="generations",
        poke_interval=1,
        initial_delay=0,
        timeout=900,
    )
    token_video = KlingTextToVideoOperator(
        task_id="token_video", prompt="E2E secrets video {{ run_id }}", **FAST
    )
    submit >> wait >> token_video

# 7: a connection created through the UI form: what the hook reads from it, and a generation with it.
with _dag("e2e_form_connection", "Reads and uses the kling_form connection made in the UI."):

    @task
    def form_settings() -> dict[str, Any]:
        from airflow_provider_kling.hooks.kling import KlingHook

        settings = KlingHook("kling_form").get_settings()
        return {
            "base_url": settings.base_url,
            "timeout": settings.timeout,
            "max_retries": settings.max_retries,
            "uses_jwt": settings.credentials.uses_jwt,
        }

    form_settings() >> KlingTextToVideoOperator(
        task_id="generate", kling_conn_id="kling_form", prompt="E2E connection form", **FAST
    )
