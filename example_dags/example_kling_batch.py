"""A batch of prompts with dynamic task mapping, throttled by a pool, then every video downloaded.

Create the pool once, sized to your Kling account's concurrency (here 3):
``airflow pools set kling 3 "Kling resource pack concurrency"``. The operators also absorb Kling's 1303
("parallel task over resource pack limit") by waiting and resubmitting, so the pool is about fairness and
worker use, not correctness.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
PROMPTS = [
    "A lighthouse in a storm, waves crashing, cinematic",
    "A fox running through fresh snow in a pine forest",
    "Timelapse of a city street from day to night",
    "Close-up of coffee being poured into a glass cup",
]

with DAG(
    dag_id="example_kling_batch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    videos = KlingTextToVideoOperator.partial(
        task_id="generate",
        pool="kling",
        mode="std",
        duration=5,
    ).expand(prompt=PROMPTS)

    @task
    def flatten(url_lists: list[list[str]]) -> list[str]:
        """One list of URLs from the mapped generations, in prompt order."""
        return [url for urls in url_lists for url in urls]

    KlingDownloadOperator(
        task_id="download_all",
        urls=flatten(videos.output),
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )
