"""Every example DAG succeeds under ``airflow dags test`` against the emulator, as a user would run it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "example_dags").glob("example_*.py"))
#: Examples that wait for a person's answer: ``airflow dags test`` cannot give it, so they are only parsed
#: here; tests/e2e/test_8_gallery_and_review.py runs them end to end, answering in the UI.
NEEDS_A_PERSON = ("example_kling_review_and_publish",)
RUNNABLE = [name for name in EXAMPLES if name not in NEEDS_A_PERSON]


def _run_example(dag_id: str, base_url: str, workdir: Path) -> tuple[int, str]:
    home = workdir / dag_id
    home.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_KLING_DEFAULT": json.dumps({"conn_type": "kling", "host": base_url, "password": TOKEN}),
        "KLING_MEDIA_DIR": str(workdir / "media"),
    }
    airflow = [sys.executable, "-m", "airflow"]
    log = []
    for args in (
        ["db", "migrate"],
        ["pools", "set", "kling", "3", "Kling concurrency"],
        ["dags", "test", dag_id],
    ):
        done = subprocess.run(
            [*airflow, *args], env=env, capture_output=True, text=True, timeout=600, check=False
        )
        log.append(done.stdout + done.stderr)
        if done.returncode:
            return done.returncode, "\n".join(log)
    return 0, "\n".join(log)


def test_the_examples_exist():
    assert EXAMPLES == [
        "example_kling_batch",
        "example_kling_extend_video",
        "example_kling_image_to_video",
        "example_kling_images",
        "example_kling_product_variants",
        "example_kling_review_and_publish",
        "example_kling_sound_bed",
        "example_kling_talking_video",
        "example_kling_text_to_video",
    ]


@pytest.fixture(scope="module")
def example_runs(emulator_server, tmp_path_factory):
    emulator_server.reset()
    emulator_server.configure(submitted_seconds=0.2, task_duration=1.0, concurrency_limit=2)
    workdir = tmp_path_factory.mktemp("examples")
    with ThreadPoolExecutor(max_workers=len(RUNNABLE)) as pool:
        runs = dict(
            zip(
                RUNNABLE,
                pool.map(lambda d: _run_example(d, emulator_server.url, workdir), RUNNABLE),
                strict=True,
            )
        )
    return runs, workdir, emulator_server.stats()


@pytest.mark.parametrize("dag_id", RUNNABLE)
def test_example_succeeds(example_runs, dag_id):
    runs, _, _ = example_runs
    code, log = runs[dag_id]
    assert code == 0, log[-3000:]
    assert f"dag_id={dag_id}" in log and "state=success" in log


def test_examples_created_one_kling_task_per_generation(example_runs):
    _, _, stats = example_runs
    # text2video 1, image2video 1, extend 2, images 2, batch 4, talking video 3, product variants 3,
    # sound bed 3 (a 1303 answer never creates a task)
    assert stats["creates"] == 19
    assert stats["tasks_by_status"] == {"succeed": 19}


def test_the_batch_example_adds_up_what_the_run_cost(example_runs):
    runs, _, stats = example_runs
    batch = stats["units_charged_by_type"]["text2video"]
    assert "This run cost 4 Kling units for 4 generations" in runs["example_kling_batch"][1]
    assert batch >= 4


@pytest.mark.parametrize(
    ("dag_id", "suffixes"),
    [
        ("example_kling_talking_video", [".mp4"]),
        ("example_kling_product_variants", [".mp4", ".mp4"]),
        ("example_kling_sound_bed", [".mp3", ".mp3", ".mp4"]),
    ],
)
def test_the_2026_examples_keep_real_media(example_runs, dag_id, suffixes):
    _, workdir, _ = example_runs
    files = sorted(p for p in (workdir / "media" / dag_id).rglob("*") if p.is_file())
    assert sorted(p.suffix for p in files) == suffixes
    magic = {".mp4": lambda d: d[4:8] == b"ftyp", ".mp3": lambda d: d[:3] == b"ID3" or d[0] == 0xFF}
    assert all(magic[p.suffix](p.read_bytes()) for p in files)


def test_main_example_downloads_and_publishes(example_runs):
    _, workdir, _ = example_runs
    manifests = list((workdir / "media" / "example_kling_text_to_video").glob("*/manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    (file,) = manifest["files"]
    data = Path(file["path"]).read_bytes()
    assert data[4:8] == b"ftyp" and len(data) == file["bytes"]
    assert manifest["task_status"] == "succeed" and manifest["video_urls"] == [file["url"]]


def _load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "example_dags" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="human-in-the-loop operators need Airflow 3.1+")
def test_the_review_example_asks_a_person_to_choose_a_variant():
    dag = _load_example("example_kling_review_and_publish").dag
    review = dag.get_task("review")
    assert review.options == ["Variant 1", "Variant 2", "Variant 3", "Reject all"]
    assert review.defaults == ["Reject all"]  # nobody answers within the response timeout: nothing published
    assert {t.task_id for t in review.upstream_list} == {"review_body"}
    assert dag.get_task("generate").expand_input.value["prompt"][1].endswith("soft light, light drizzle")
    assert {t.task_id for t in dag.get_task("chosen_urls").upstream_list} == {"review", "generate"}
    assert {t.task_id for t in dag.get_task("publish").upstream_list} == {"download", "review"}


@pytest.mark.skipif(AIRFLOW_V_3_1_PLUS, reason="Airflow 3.1+ has human-in-the-loop operators")
def test_the_review_example_says_why_it_needs_airflow_3_1():
    with pytest.raises(ImportError, match=r"needs Airflow 3\.1\+: its review is a human-in-the-loop task"):
        _load_example("example_kling_review_and_publish")
