"""The event-driven DAGs of the end-to-end suite (``tests/e2e/test_7_event_driven.py``).

``e2e_events_submit`` submits twenty generations with a completion asset and ends; the plugin in the
api-server records an event per finished generation; ``e2e_events_publish``, scheduled on the asset,
downloads the videos of the events that triggered it; ``e2e_events_sweep`` records what lost callbacks missed.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowSkipException, Asset, task

from airflow_provider_kling.events import kling_results_from_events
from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
from airflow_provider_kling.operators.sweep import KlingCompletionSweepOperator

START = datetime(2026, 1, 1)
STATE_DIR = os.environ.get("KLING_E2E_STATE_DIR", "/tmp/kling-e2e-state")
COMPLETIONS = Asset("e2e_kling_completions")
CONN_ID = "kling_events"
PROMPTS = [f"E2E event-driven prompt {i:02d}: a kite over a beach" for i in range(20)]

with DAG("e2e_events_submit", schedule=None, start_date=START, catchup=False, tags=["kling-e2e"]):
    KlingTextToVideoOperator.partial(
        task_id="generate", kling_conn_id=CONN_ID, completion_asset=COMPLETIONS, submit_retry_delay=1
    ).expand(prompt=PROMPTS)

with DAG("e2e_events_publish", schedule=[COMPLETIONS], start_date=START, catchup=False, tags=["kling-e2e"]):

    @task
    def finished_videos(**context: Any) -> list[str]:
        urls = [url for r in kling_results_from_events(context, status="succeed") for url in r["urls"]]
        if not urls:
            raise AirflowSkipException("no finished video among the triggering events")
        return urls

    KlingDownloadOperator(
        task_id="download",
        urls=finished_videos(),
        destination=STATE_DIR + "/events-media/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )

with DAG("e2e_events_sweep", schedule=None, start_date=START, catchup=False, tags=["kling-e2e"]):
    KlingCompletionSweepOperator(task_id="sweep", kling_conn_id=CONN_ID, grace_period=2)
