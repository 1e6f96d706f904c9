"""Event-driven generation, the safety net: record the events whose callbacks never arrived.

Every ten minutes the callback plugin is asked to check the submissions made with a completion asset more
than 15 minutes ago that still have no event: it queries Kling for each and records the events of those that
ended, never twice (and queues the consumers of an event Airflow left unconsumed). Needs the same connection
extras as the submissions (``callback_secret`` signs the request).
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.sweep import KlingCompletionSweepOperator

with DAG(
    dag_id="example_kling_event_driven_sweep",
    schedule="*/10 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kling", "example", "event-driven"],
) as dag:
    KlingCompletionSweepOperator(task_id="sweep", grace_period=15 * 60)
