"""Event-driven generation, part 2 of 2: Airflow runs this DAG when Kling reports videos finished.

Scheduled on the completion asset of ``example_kling_event_driven_submit``: each run gets the events recorded
since the previous one (``kling_results_from_events``), downloads every finished video and reports the failed
generations with Kling's reason. A run with nothing finished is skipped.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowSkipException, Asset, task

from airflow_provider_kling.events import kling_results_from_events
from airflow_provider_kling.operators.download import KlingDownloadOperator

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
KLING_VIDEOS = Asset("kling_finished_videos")

with DAG(
    dag_id="example_kling_event_driven_publish",
    schedule=[KLING_VIDEOS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example", "event-driven"],
) as dag:

    @task
    def finished_videos(**context: Any) -> list[str]:
        """The result URLs of the generations that triggered this run; failures are reported, not fetched."""
        results = kling_results_from_events(context)
        for failed in (r for r in results if r["status"] == "failed"):
            print(f"Kling task {failed['task_id']} failed: {failed['task_status_msg']}")
        urls = [url for r in results if r["status"] == "succeed" for url in r["urls"]]
        if not urls:
            raise AirflowSkipException("no finished video among the events of this run")
        return urls

    KlingDownloadOperator(
        task_id="download",
        urls=finished_videos(),
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )
