"""Image -> video, submitted without waiting, then a ``KlingTaskSensor`` waits for it.

Splitting submit and wait lets other tasks run in between, and lets the wait be retried on its own.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingImageToVideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

with DAG(
    dag_id="example_kling_image_to_video",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    submit = KlingImageToVideoOperator(
        task_id="submit",
        image="https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg",
        prompt="The cat slowly turns its head towards the camera and blinks",
        mode="pro",
        duration=5,
        wait_for_completion=False,  # return_value is the Kling task id
    )

    wait = KlingTaskSensor(
        task_id="wait",
        kling_task_id=submit.output,
        task_type="image2video",
        timeout=60 * 60,
    )
