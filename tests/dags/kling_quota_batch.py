"""A batch that first checks the account can pay for it (``params.needed`` in the quota's unit)."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
from airflow_provider_kling.operators.quota import KlingQuotaCheckOperator

with DAG(
    "kling_quota_batch",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    params={"needed": 1, "packs": "Video"},
) as dag:
    quota = KlingQuotaCheckOperator(
        task_id="quota", min_remaining="{{ params.needed }}", resource_pack_type="{{ params.packs }}"
    )
    generate = KlingTextToVideoOperator.partial(
        task_id="generate", initial_delay=0, poll_interval=0.2
    ).expand(prompt=["A red kite", "A blue kite"])
    quota >> generate
