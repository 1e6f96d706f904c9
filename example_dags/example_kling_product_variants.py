"""A product photo -> two video variants (an effect scene and an omni-video shot) -> download all.

The photo is generated here; point ``PHOTO`` at your own product image (a URL, or a local or object-storage
path, which is read and sent as Base64) to use a real one.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import (
    KlingImageGenerationOperator,
    KlingOmniVideoOperator,
    KlingVideoEffectsOperator,
)

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
PHOTO = "{{ ti.xcom_pull(task_ids='product_photo')[0] }}"

with DAG(
    dag_id="example_kling_product_variants",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    photo = KlingImageGenerationOperator(
        task_id="product_photo",
        prompt="A glazed ceramic coffee mug on an oak table, soft studio light, product photography",
        aspect_ratio="1:1",
        n=1,
    )
    effect = KlingVideoEffectsOperator(task_id="effect", effect_scene="bloombloom", image=PHOTO, duration=5)
    turntable = KlingOmniVideoOperator(
        task_id="turntable",
        model_name="kling-video-o1",
        prompt="<<<image_1>>> turns slowly on a turntable, reflections moving across the glaze",
        image_list=[{"image_url": PHOTO, "type": "first_frame"}],
        duration=5,
    )

    @task
    def all_variants(*url_lists: list[str]) -> list[str]:
        """One list of every variant's URLs, for one download task."""
        return [url for urls in url_lists for url in urls]

    photo >> [effect, turntable]
    KlingDownloadOperator(
        task_id="download_all",
        urls=all_variants(effect.output, turntable.output),
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )
