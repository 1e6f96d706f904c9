"""Generations for the gallery tests (``tests/gallery``): what a content team's DAG leaves in Airflow.

``dag`` makes a video (kept by a download), two images, speech, and a video through the generic operator
(its task type known only from the rendered ``kling_task_type``); ``private_dag`` makes one image, for the
test of a user who may not read that DAG; ``failure_dag`` a video that the emulator fails (the test sets
``fail_next``); ``bulk_dag`` one image, which the paging test copies thousands of times. Downloads go to
``params.media_dir``.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import (
    KlingCreateTaskOperator,
    KlingImageGenerationOperator,
    KlingTextToSpeechOperator,
    KlingTextToVideoOperator,
)

START = datetime.datetime(2026, 1, 1)
FAST = {"initial_delay": 0, "poll_interval": 0.2}
VIDEO_PROMPT = "A paper boat sails across a rain puddle at golden hour"

with DAG(
    "kling_gallery",
    schedule=None,
    start_date=START,
    default_args=FAST,
    params={"media_dir": "/tmp/kling-gallery"},
) as dag:
    video = KlingTextToVideoOperator(
        task_id="video", prompt=VIDEO_PROMPT, model_name="kling-v2-6", mode="std", duration=5
    )
    KlingImageGenerationOperator(task_id="images", prompt="Two paper boats, studio light", n=2)
    KlingTextToSpeechOperator(
        task_id="speech",
        text="Welcome to the paper boat race",
        voice_id="genshin_vindi2",
        voice_language="en",
    )
    KlingCreateTaskOperator(
        task_id="generic",
        task_type="text2video",
        payload={"prompt": "A lighthouse in a storm", "model_name": "kling-v3", "duration": "5"},
    )
    KlingDownloadOperator(task_id="keep", urls=video.output, destination="{{ params.media_dir }}")

with DAG("kling_gallery_private", schedule=None, start_date=START, default_args=FAST) as private_dag:
    KlingImageGenerationOperator(task_id="secret_images", prompt="The unreleased product", n=1)

with DAG("kling_gallery_failure", schedule=None, start_date=START, default_args=FAST) as failure_dag:
    KlingTextToVideoOperator(task_id="rejected", prompt="A prompt Kling refuses")

with DAG("kling_gallery_bulk", schedule=None, start_date=START, default_args=FAST) as bulk_dag:
    KlingImageGenerationOperator(task_id="bulk", prompt="One of thousands", n=1)
