"""OpenLineage events of a generate → download → publish DAG under ``airflow dags test`` (file transport):
the input image, the Kling task and its result URL, then the stored file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_cli import dags_test

pytest.importorskip("airflow.providers.openlineage", reason="the [openlineage] extra is not installed")


def datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side) or []}


def test_lineage_runs_from_the_input_image_to_the_stored_file(emulator, tmp_path):
    media, events = tmp_path / "media", tmp_path / "lineage"
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    lineage = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "kling-tests",
        "KLING_MEDIA_DIR": str(media),
    }
    done = dags_test("kling_lineage", tmp_path, emulator.url, lineage)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    complete = {e["job"]["name"]: e for e in lines if e.get("eventType") == "COMPLETE"}
    generate, download = complete["kling_lineage.generate"], complete["kling_lineage.download"]
    (task,) = [t for t in emulator.stats()["request_log"] if t["method"] == "POST"]
    host = emulator.url.removeprefix("http://")
    kling_outputs = {d for d in datasets(generate, "outputs") if d[0] == f"kling://{host}"}
    assert datasets(generate, "inputs") == {("https://cdn.example.com", "/catalog/mug.png")}
    assert len(kling_outputs) == 1 and next(iter(kling_outputs))[1].startswith("image2video/")
    (url,) = datasets(generate, "outputs") - kling_outputs
    assert url[0] == f"http://{host}" and url[1].endswith(".mp4")
    assert datasets(download, "inputs") == {url}
    (stored,) = datasets(download, "outputs")
    assert stored[0] == "file" and Path(stored[1]).parent == media and Path(stored[1]).exists()
    assert task["path"] == "/v1/videos/image2video"
