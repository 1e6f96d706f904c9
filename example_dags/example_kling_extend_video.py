"""Text -> video -> extend: the first video's id (from the ``kling_task`` XCom) feeds ``video-extend``."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingExtendVideoOperator, KlingTextToVideoOperator

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
# The whole Kling task object of `first_shot` is in its `kling_task` XCom; extend needs its video id.
FIRST_VIDEO_ID = "{{ ti.xcom_pull(task_ids='first_shot', key='kling_task').task_result.videos[0].id }}"

with DAG(
    dag_id="example_kling_extend_video",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    first = KlingTextToVideoOperator(
        task_id="first_shot",
        prompt="A hot air balloon lifts off over misty hills at sunrise",
        model_name="kling-v1-6",
        duration=5,
    )

    extend = KlingExtendVideoOperator(
        task_id="extend",
        video_id=FIRST_VIDEO_ID,
        prompt="The balloon drifts higher and the sun breaks through the clouds",
    )

    download = KlingDownloadOperator(
        task_id="download",
        urls=extend.output,
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )

    first >> extend >> download
