"""Three independent generations for the metrics test: the emulator fails whichever it creates first, so a
run makes 3 Kling tasks, 2 succeed and 1 fails."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingImageGenerationOperator, KlingTextToVideoOperator

with DAG(
    "kling_metrics",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    default_args={"initial_delay": 0, "poll_interval": 0.2},
) as dag:
    KlingTextToVideoOperator(task_id="video", prompt="A lantern in the fog")
    KlingTextToVideoOperator(task_id="video_pro", prompt="A lantern in the rain", mode="pro")
    KlingImageGenerationOperator(task_id="images", prompt="Two lanterns", n=2)
