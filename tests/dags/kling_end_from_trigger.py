"""Waits that end in the triggerer (``end_from_trigger=True``), run with ``dag.test()``: Airflow's test runner
runs triggers inline and resumes every task with the event, so the tasks must still end with their XComs."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingImageGenerationOperator, KlingTextToVideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

with DAG(
    "kling_end_from_trigger",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    default_args={"initial_delay": 0, "deferrable": True, "end_from_trigger": True},
) as dag:
    images = KlingImageGenerationOperator(task_id="images", prompt="Two lanterns", n=2, poll_interval=0.2)
    submitted = KlingTextToVideoOperator(
        task_id="submit", prompt="A lantern in the fog", wait_for_completion=False
    )
    # After the images, so that the video is still being made when the sensor first looks.
    images >> submitted
    KlingTaskSensor(task_id="wait", kling_task_id=submitted.output, task_type="text2video", poke_interval=0.2)
