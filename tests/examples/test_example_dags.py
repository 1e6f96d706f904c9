"""Every example DAG succeeds under ``airflow dags test`` against the emulator, as a user would run it."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "example_dags").glob("example_*.py"))
#: Examples that wait for a person's answer: ``airflow dags test`` cannot give it, so they are only parsed
#: here; tests/e2e/test_8_gallery_and_review.py runs them end to end, answering in the UI.
NEEDS_A_PERSON = ("example_kling_review_and_publish",)
#: Event-driven completion needs Airflow 3.1+ (its API server serves the callback plugin); on older Airflow
#: these examples are refused when parsed, as they should be.
EVENT_DRIVEN = tuple(name for name in EXAMPLES if name.startswith("example_kling_event_driven_"))
RUNNABLE = [
    name
    for name in EXAMPLES
    if name not in NEEDS_A_PERSON and (AIRFLOW_V_3_1_PLUS or name not in EVENT_DRIVEN)
]
CALLBACK_SECRET = "cb-examples-secret-0f2e4d6c8a1b3c5d7e9f"
#: Examples run one per Airflow home, except the event-driven ones: submit, publish, sweep in one home.
JOBS = [[name] for name in RUNNABLE if name not in EVENT_DRIVEN]
if AIRFLOW_V_3_1_PLUS:
    JOBS.append([f"example_kling_event_driven_{part}" for part in ("submit", "publish", "sweep")])


def _run_examples(dag_ids: list[str], base_url: str, workdir: Path) -> list[tuple[int, str]]:
    """Run examples one after the other in one Airflow home, as a user would; an (exit code, log) each.

    The event-driven ones share a home, as they share a deployment: the sweep is answered by the callback
    plugin, served as the API server would serve it, on that home's metadata DB.
    """
    home = workdir / dag_ids[0]
    home.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        plugin_port = int(sock.getsockname()[1])
    connection = {
        "conn_type": "kling",
        "host": base_url,
        "password": TOKEN,
        "extra": {"callback_base_url": f"http://127.0.0.1:{plugin_port}", "callback_secret": CALLBACK_SECRET},
    }
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_KLING_DEFAULT": json.dumps(connection),
        "KLING_MEDIA_DIR": str(workdir / "media"),
    }
    with _callback_plugin(env, plugin_port, serve=any(d.endswith("_sweep") for d in dag_ids)):
        code, setup = _airflow(env, ["db", "migrate"], ["pools", "set", "kling", "3", "Kling concurrency"])
        if code:
            return [(code, setup)] * len(dag_ids)
        return [_airflow(env, ["dags", "test", dag_id], log=setup) for dag_id in dag_ids]


def _airflow(env: dict[str, str], *commands: list[str], log: str = "") -> tuple[int, str]:
    """Run ``airflow`` commands until one fails: its exit code and the output of all."""
    for args in commands:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        log += "\n" + done.stdout + done.stderr
        if done.returncode:
            return done.returncode, log
    return 0, log


@contextlib.contextmanager
def _callback_plugin(env: dict[str, str], port: int, *, serve: bool) -> Iterator[None]:
    if not serve:
        yield
        return
    output = Path(env["AIRFLOW_HOME"]) / "callback-plugin.log"
    with output.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.callbacks.serve_plugin", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Generous: it starts beside every other example's `airflow dags test` (and, in `make test`, beside
        # another suite), each importing Airflow on the same two cores.
        deadline = time.monotonic() + 240
        while not _pings(port):
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError(f"the callback plugin did not start:\n{output.read_text()[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def _pings(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/kling-callbacks/v1/ping", timeout=2).ok
    except requests.RequestException:
        return False


def test_the_examples_exist():
    assert EXAMPLES == [
        "example_kling_batch",
        "example_kling_event_driven_publish",
        "example_kling_event_driven_submit",
        "example_kling_event_driven_sweep",
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
    with ThreadPoolExecutor(max_workers=len(JOBS)) as pool:
        results = list(pool.map(lambda job: _run_examples(job, emulator_server.url, workdir), JOBS))
    runs = {
        dag_id: run
        for job, done in zip(JOBS, results, strict=True)
        for dag_id, run in zip(job, done, strict=True)
    }
    return runs, workdir, _settled_stats(emulator_server)


def _settled_stats(emulator_server: Any) -> dict[str, Any]:
    """The emulator's counters once no task runs (the event-driven submit example ends before its tasks)."""
    deadline = time.monotonic() + 30
    while True:
        stats: dict[str, Any] = emulator_server.stats()
        if set(stats["tasks_by_status"]) <= {"succeed", "failed"} or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


# The first of these also runs every example (the module fixture), in parallel on a 2-core machine.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("dag_id", RUNNABLE)
def test_example_succeeds(example_runs, dag_id):
    runs, _, _ = example_runs
    code, log = runs[dag_id]
    assert code == 0, log[-3000:]
    assert f"dag_id={dag_id}" in log and "state=success" in log


def test_examples_created_one_kling_task_per_generation(example_runs):
    _, _, stats = example_runs
    # text2video 1, image2video 1, extend 2, images 2, batch 4, talking video 3, product variants 3,
    # sound bed 3, event-driven submit 3 on Airflow 3.1+ (a 1303 answer never creates a task)
    expected = 19 + (3 if AIRFLOW_V_3_1_PLUS else 0)
    assert stats["creates"] == expected
    assert stats["tasks_by_status"] == {"succeed": expected}


@pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="event-driven completion needs Airflow 3.1+")
def test_the_event_driven_examples_submit_skip_and_sweep(example_runs):
    runs, _, _ = example_runs
    submit = runs["example_kling_event_driven_submit"][1]
    assert submit.count("Created Kling text2video task") == 3
    assert "no finished video among the events of this run" in runs["example_kling_event_driven_publish"][1]
    # The sweep's signed request was accepted by the plugin (in its own, empty DB: nothing to settle).
    assert "Kling completion sweep: {}" in runs["example_kling_event_driven_sweep"][1]


@pytest.mark.skipif(AIRFLOW_V_3_1_PLUS, reason="Airflow 3.1+ serves the callback plugin")
@pytest.mark.parametrize("name", ["example_kling_event_driven_submit", "example_kling_event_driven_sweep"])
def test_the_event_driven_examples_say_why_they_need_airflow_3_1(name):
    from airflow_provider_kling.exceptions import KlingValidationError

    with pytest.raises(KlingValidationError, match=r"needs Airflow 3\.1 or newer"):
        _load_example(name)


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
