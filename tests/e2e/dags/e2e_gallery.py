"""DAGs of the gallery scenario (``tests/e2e/test_8_gallery_and_review.py``): finished generations of every
media kind, a kept download, and a DAG that the restricted user may not read. Waits poll every second from the
start, as in ``e2e_kling.py``. The review example runs beside them (``example_kling_review_and_publish.py``
in this folder is a link to the example DAG file, so the test runs exactly what users get).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import (
    KlingImageGenerationOperator,
    KlingTextToSpeechOperator,
    KlingTextToVideoOperator,
)

START = datetime(2026, 1, 1)
# Retries: a wait shorter than the LocalExecutor's report of the deferring process can have the scheduler
# fail the resumed try ("state changed externally"); the retry re-attaches to the same Kling task.
FAST: dict[str, Any] = {
    "poll_interval": 1,
    "initial_delay": 0,
    "timeout": 600,
    "retries": 2,
    "retry_delay": timedelta(seconds=1),
}
MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")

with DAG("e2e_gallery_media", schedule=None, start_date=START, catchup=False, tags=["kling-e2e"]):
    video = KlingTextToVideoOperator(task_id="video", prompt="E2E gallery: a paper boat at dawn", **FAST)
    KlingImageGenerationOperator(task_id="images", prompt="E2E gallery: two paper boats", n=2, **FAST)
    KlingTextToSpeechOperator(
        task_id="speech", text="E2E gallery speech", voice_id="genshin_vindi2", voice_language="en", **FAST
    )
    KlingDownloadOperator(
        task_id="keep",
        retries=2,
        urls=video.output,
        destination=MEDIA_DIR + "/e2e_gallery_media/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )

with DAG("e2e_gallery_private", schedule=None, start_date=START, catchup=False, tags=["kling-e2e"]):
    KlingImageGenerationOperator(task_id="unreleased", prompt="E2E gallery: the unreleased product", **FAST)
