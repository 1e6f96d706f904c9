"""Generate (from an image URL), download, publish: the lineage the OpenLineage test follows end to end."""

from __future__ import annotations

import datetime
import os
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingImageToVideoOperator

with DAG("kling_lineage", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
    generate = KlingImageToVideoOperator(
        task_id="generate",
        image="https://cdn.example.com/catalog/mug.png",
        prompt="The mug turns slowly",
        initial_delay=0,
        poll_interval=0.2,
    )
    download = KlingDownloadOperator(
        task_id="download", urls=generate.output, destination=os.environ.get("KLING_MEDIA_DIR", "/tmp")
    )

    @task
    def publish(files: Any) -> int:
        return len(files)

    publish(download.output)
