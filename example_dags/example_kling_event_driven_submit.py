"""Event-driven generation, part 1 of 2: submit the prompts and end (Airflow 3.1+, README "Event-driven
pipelines").

Each mapped task submits one generation with ``completion_asset`` and ends in seconds: no worker slot, no
trigger and no polling while Kling works. Kling calls back the Airflow API server (the provider's plugin) on
every status change; when Kling's own API confirms that a generation ended, the plugin records one event on
``KLING_VIDEOS``, which runs ``example_kling_event_driven_publish``. The ``kling_default`` connection needs
the extras ``callback_base_url`` (the API server's public URL) and ``callback_secret``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Asset, Param, task

from airflow_provider_kling.operators.kling import KlingTextToVideoOperator

#: The completion asset; the publish DAG is scheduled on it (which also makes it known to Airflow).
KLING_VIDEOS = Asset("kling_finished_videos")

with DAG(
    dag_id="example_kling_event_driven_submit",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example", "event-driven"],
    params={
        "prompts": Param(
            [
                "A lighthouse in a storm, waves crashing, cinematic",
                "A fox running through fresh snow in a pine forest",
                "Timelapse of a city street from day to night",
            ],
            type="array",
            description="One generation per prompt",
        )
    },
) as dag:

    @task
    def prompts(**context: Any) -> list[str]:
        return list(context["params"]["prompts"])

    KlingTextToVideoOperator.partial(
        task_id="generate",
        completion_asset=KLING_VIDEOS,
        mode="std",
        duration=5,
    ).expand(prompt=prompts())
