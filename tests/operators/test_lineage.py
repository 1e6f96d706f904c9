"""OpenLineage events of a generate → download → publish DAG under ``airflow dags test`` (file transport):
the input image, the Kling task and its result URL, then the stored file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("airflow.providers.openlineage", reason="the [openlineage] extra is not installed")


def datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side) or []}


def test_lineage_runs_from_the_input_image_to_the_stored_file(emulator, tmp_path):
    dags, media, events = tmp_path / "dags", tmp_path / "media", tmp_path / "lineage"
    dags.mkdir()
    shutil.copyfile(ROOT / "tests" / "dags" / "kling_lineage.py", dags / "kling_lineage.py")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "kling-tests",
        "KLING_MEDIA_DIR": str(media),
        "AIRFLOW_CONN_KLING_DEFAULT": json.dumps(
            {"conn_type": "kling", "host": emulator.url, "password": TOKEN}
        ),
    }
    for args in (["db", "migrate"], ["dags", "test", "kling_lineage"]):
        run = [sys.executable, "-m", "airflow", *args]
        done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=600, check=False)
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
