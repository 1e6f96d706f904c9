"""Reading completion events in the consumer DAG (``kling_results_from_events``), from the accessor Airflow's
task runner puts in the context; and where the plugin is loaded (Airflow 3.1+) and where not (2.11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from airflow_provider_kling.callbacks import CallbackTarget
from airflow_provider_kling.events import completion_extra, kling_results_from_events
from airflow_provider_kling.exceptions import KlingValidationError
from tests.callbacks.conftest import needs_plugin

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def kling_extra(task_id: str, status: str = "succeed", map_index: int = 0) -> dict[str, Any]:
    target = CallbackTarget("kling", "videos", "videos", "text2video", "ext", "d", "r", "gen", map_index)
    video = {"url": f"https://cdn.example/{task_id}.mp4"}
    task = {
        "task_id": task_id,
        "task_status": status,
        "task_status_msg": "Image pixel is invalid" if status == "failed" else "",
        "final_unit_deduction": "5",
        "task_result": {"videos": [video]} if status == "succeed" else {},
    }
    return completion_extra(target, task)


def accessor(events: list[tuple[str, dict[str, Any], datetime]]) -> Any:
    """Airflow's own triggering-events accessor, as the task runner builds it for a run."""
    from airflow.sdk.api.datamodels._generated import AssetReferenceAssetEventDagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    return TriggeringAssetEventsAccessor.build(
        AssetEventDagRunReferenceResult(
            asset=AssetReferenceAssetEventDagRun(name=name, uri=name, extra={}),
            extra=extra,
            source_task_id=None,
            source_dag_id=None,
            source_run_id=None,
            source_map_index=None,
            source_aliases=[],
            timestamp=at,
        )
        for name, extra, at in events
    )


@needs_plugin
def test_the_finished_tasks_of_a_run_once_each_in_event_order():
    events = accessor(
        [
            ("videos", kling_extra("3", map_index=2), T0 + timedelta(seconds=3)),
            ("videos", kling_extra("1", "failed", map_index=0), T0 + timedelta(seconds=1)),
            ("videos", {"files": ["not ours"]}, T0),
            ("thumbnails", kling_extra("2", map_index=1), T0 + timedelta(seconds=2)),
            ("thumbnails", kling_extra("3", map_index=2), T0 + timedelta(seconds=4)),  # the same task again
        ]
    )
    results = kling_results_from_events({"triggering_asset_events": events})
    assert [(r["task_id"], r["status"]) for r in results] == [
        ("1", "failed"),
        ("2", "succeed"),
        ("3", "succeed"),
    ]
    assert results[0]["task_status_msg"] == "Image pixel is invalid" and results[0]["urls"] == []
    assert results[2]["urls"] == ["https://cdn.example/3.mp4"] and results[2]["map_index"] == 2
    succeeded = kling_results_from_events({"triggering_asset_events": events}, status="succeed")
    assert [r["task_id"] for r in succeeded] == ["2", "3"]
    assert kling_results_from_events({}) == []
    with pytest.raises(KlingValidationError, match="status must be one of succeed, failed"):
        kling_results_from_events({}, status="success")


def test_the_plugin_is_loaded_only_where_an_api_server_can_serve_it(airflow_db):
    (point,) = (p for p in entry_points(group="airflow.plugins") if p.name == "kling_callbacks")
    assert (point.load() is None) is (not AIRFLOW_V_3_1_PLUS)
    listing = subprocess.run(
        [sys.executable, "-m", "airflow", "plugins", "--output", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=True,
    )
    plugins = {plugin["name"]: plugin for plugin in json.loads(listing.stdout or "[]")}
    if AIRFLOW_V_3_1_PLUS:
        (app,) = plugins["kling_callbacks"]["fastapi_apps"]
        assert app == {
            "app": "fastapi.applications.FastAPI",
            "url_prefix": "/kling-callbacks",
            "name": "Kling callbacks",
        }
    else:
        assert "kling_callbacks" not in plugins
        assert "Failed to import plugin" not in listing.stderr
