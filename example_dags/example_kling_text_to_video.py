"""Text -> video -> download -> publish: the main example, and what ``make demo`` runs.

The generation waits in the triggerer (no worker slot held), the download keeps the file before Kling deletes
it after 30 days, and ``publish`` writes a manifest next to the media (swap in your CMS, bucket or Slack).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, XComArg, task

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")

with DAG(
    dag_id="example_kling_text_to_video",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    generate = KlingTextToVideoOperator(
        task_id="generate",
        prompt="A paper boat sails across a rain puddle at golden hour, macro lens, gentle ripples",
        negative_prompt="blurry, text, watermark",
        model_name="kling-v2-6",
        mode="std",
        aspect_ratio="16:9",
        duration=5,
    )

    download = KlingDownloadOperator(
        task_id="download",
        urls=generate.output,
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )

    @task
    def publish(files: list[dict], kling_task: dict) -> str:
        """Record what was generated and where it is kept."""
        manifest = {
            "kling_task_id": kling_task["task_id"],
            "task_status": kling_task["task_status"],
            "video_urls": [video["url"] for video in kling_task["task_result"]["videos"]],
            "files": files,
        }
        path = Path(files[0]["path"]).parent / "manifest.json"
        path.write_text(json.dumps(manifest, indent=2))
        for file in files:
            print(f"Published {file['path']} ({file['bytes']} bytes, sha256 {file['sha256']})")
        return str(path)

    publish(download.output, XComArg(generate, key="kling_task"))
