"""Image generation (several candidates) -> virtual try-on with the first generated image."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingImageGenerationOperator, KlingVirtualTryOnOperator

with DAG(
    dag_id="example_kling_images",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    model_photos = KlingImageGenerationOperator(
        task_id="model_photos",
        prompt="Full-body studio photo of a person standing, neutral background, soft light",
        model_name="kling-v2-1",
        aspect_ratio="3:4",
        resolution="1k",
        n=2,
    )

    try_on = KlingVirtualTryOnOperator(
        task_id="try_on",
        human_image="{{ ti.xcom_pull(task_ids='model_photos')[0] }}",
        cloth_image="https://upload.wikimedia.org/wikipedia/commons/2/24/Blue_Tshirt.jpg",
        model_name="kolors-virtual-try-on-v1-5",
    )

    model_photos >> try_on
