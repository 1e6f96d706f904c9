"""A batch of prompts with dynamic task mapping, throttled by a pool, then every video downloaded and the
run's cost added up.

``quota`` comes first: it stops the batch before any paid create when the account's video packs cannot cover
``len(PROMPTS) * UNITS_PER_VIDEO`` (see your resource pack's price per generation). ``run_cost`` sums what
Kling charged (XCom ``kling_units`` of every mapped generation).

Create the pool once, sized to your Kling account's concurrency (here 3):
``airflow pools set kling 3 "Kling resource pack concurrency"``. The operators also absorb Kling's 1303
("parallel task over resource pack limit") by waiting and resubmitting, so the pool is about fairness and
worker use, not correctness.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
from airflow_provider_kling.operators.quota import KlingQuotaCheckOperator

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
PROMPTS = [
    "A lighthouse in a storm, waves crashing, cinematic",
    "A fox running through fresh snow in a pine forest",
    "Timelapse of a city street from day to night",
    "Close-up of coffee being poured into a glass cup",
]
#: Resource-pack units of one 5-second std video on your account (check your pack's price).
UNITS_PER_VIDEO = 1.0

with DAG(
    dag_id="example_kling_batch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    quota = KlingQuotaCheckOperator(
        task_id="quota", min_remaining=len(PROMPTS) * UNITS_PER_VIDEO, resource_pack_type="Video"
    )
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

    @task
    def run_cost(ti: Any = None) -> float:
        """What this run cost: the units Kling charged for every generation (None: not reported)."""
        charged = [
            units for units in ti.xcom_pull(task_ids="generate", key="kling_units") if units is not None
        ]
        total = sum(charged)
        print(f"This run cost {total:g} Kling units for {len(charged)} generations")
        return total

    quota >> videos
    (
        KlingDownloadOperator(
            task_id="download_all",
            urls=flatten(videos.output),
            destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
        )
        >> run_cost()
    )
