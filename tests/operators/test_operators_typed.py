"""The six typed operators end to end (``dag.test()`` against the emulator): the exact create bodies they
send, their XComs, callbacks, ``wait_for_completion=False`` with the sensor, worker-side polling, the extra
link and dynamic task mapping."""

from __future__ import annotations

import re

import pytest
import requests
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

from airflow_provider_kling.links import KlingResultLink
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
from tests.operators.helpers import dag_body, output_of, task_error

EXTERNAL_ID = re.compile(r"^airflow-[0-9a-f]{24}-1$")
FAST = "poll_interval=0.2"


def creates(recorder, task_type=""):
    return [r for r in recorder.matching("POST", task_type) if r["path"].startswith("/v1/")]


def assert_succeeded(result, emulator, task_id, kind, count=1, map_index=-1):
    """URLs in ``return_value``, the whole task in ``kling_task``, its id in ``kling_task_id``."""
    assert result.task_state(task_id, map_index) == "success"
    urls = result.xcom(task_id, map_index=map_index)
    task = result.xcom(task_id, key="kling_task", map_index=map_index)
    # Read outside a task, Airflow's XCom model json-decodes a stored "123" string into 123: compare text.
    kling_id = str(result.xcom(task_id, key="kling_task_id", map_index=map_index))
    assert kling_id.isdigit() and len(kling_id) >= 15
    assert task["task_id"] == kling_id and task["task_status"] == "succeed"
    ext = "mp4" if kind == "videos" else "png"
    assert urls == [f"{emulator.url}/media/{kling_id}/{i}.{ext}" for i in range(count)]
    assert urls == [item["url"] for item in task["task_result"][kind]]
    return urls, task


def test_text_to_video_then_extend_its_video(emulator, recorder, run_dag):
    video_id = "{{ ti.xcom_pull(task_ids='t2v', key='kling_task')['task_result']['videos'][0]['id'] }}"
    result = run_dag(
        dag_body(
            't2v = KlingTextToVideoOperator(task_id="t2v", prompt="a red fox in snow", mode="pro",',
            f'    aspect_ratio="9:16", duration=10, {FAST})',
            f'ext = KlingExtendVideoOperator(task_id="extend", video_id="{video_id}",',
            f'    prompt="the fox jumps", {FAST})',
            "t2v >> ext",
        )
    )
    assert result.state == "success"
    urls, task = assert_succeeded(result, emulator, "t2v", "videos")
    # duration=10 (an int) went out as the string "10": Kling accepted it (it refuses numbers) and used it.
    assert task["task_result"]["videos"][0]["duration"] == "10"
    ext_urls, ext_task = assert_succeeded(result, emulator, "extend", "videos")
    parent_id = task["task_result"]["videos"][0]["id"]
    assert ext_task["task_info"]["parent_video"]["id"] == parent_id
    assert ext_urls != urls

    t2v_body, ext_body = (r["body"] for r in creates(recorder))
    assert [r["path"] for r in creates(recorder)] == ["/v1/videos/text2video", "/v1/videos/video-extend"]
    # Only the fields the user set (plus the derived idempotency key) are sent.
    assert EXTERNAL_ID.match(t2v_body.pop("external_task_id"))
    assert t2v_body == {
        "prompt": "a red fox in snow",
        "mode": "pro",
        "aspect_ratio": "9:16",
        "duration": "10",
    }
    assert EXTERNAL_ID.match(ext_body.pop("external_task_id"))
    assert ext_body == {"video_id": parent_id, "prompt": "the fox jumps"}
    assert task["task_info"]["external_task_id"] != ext_task["task_info"]["external_task_id"]
    stats = emulator.stats()
    assert stats["creates"] == 2 and set(stats["answers_by_code"]) == {"0"}
    # Deferrable by default: the status polls came from the triggerer's async client, not the worker.
    polls = recorder.matching("GET", f"/text2video/{task['task_id']}")
    assert polls and all("aiohttp" in r["user_agent"] for r in polls)
    # The URLs really serve the generated file.
    media = requests.get(urls[0], timeout=10)
    assert media.status_code == 200 and media.headers["Content-Type"] == "video/mp4"


TYPED = [
    pytest.param(
        'KlingImageToVideoOperator(task_id="gen", image="https://example.com/cat.png", prompt="it blinks",'
        ' duration=5, cfg_scale=0.5, camera_control={"type": "simple", "config": {"zoom": 5}})',
        "/v1/videos/image2video",
        {
            "image": "https://example.com/cat.png",
            "prompt": "it blinks",
            "duration": "5",
            "cfg_scale": 0.5,
            "camera_control": {"type": "simple", "config": {"zoom": 5}},
        },
        "videos",
        1,
        id="image2video",
    ),
    pytest.param(
        'KlingMultiImageToVideoOperator(task_id="gen", prompt="two cats meet", aspect_ratio="1:1",'
        ' image_list=["https://example.com/a.png", {"image": "https://example.com/b.png"}])',
        "/v1/videos/multi-image2video",
        {
            "image_list": [{"image": "https://example.com/a.png"}, {"image": "https://example.com/b.png"}],
            "prompt": "two cats meet",
            "aspect_ratio": "1:1",
        },
        "videos",
        1,
        id="multi-image2video",
    ),
    pytest.param(
        'KlingImageGenerationOperator(task_id="gen", prompt="a teapot", n=3, aspect_ratio="21:9",'
        ' resolution="2k", image="https://example.com/ref.png", image_reference="subject",'
        " image_fidelity=0.3)",
        "/v1/images/generations",
        {
            "prompt": "a teapot",
            "n": 3,
            "aspect_ratio": "21:9",
            "resolution": "2k",
            "image": "https://example.com/ref.png",
            "image_reference": "subject",
            "image_fidelity": 0.3,
        },
        "images",
        3,
        id="generations",
    ),
    pytest.param(
        'KlingVirtualTryOnOperator(task_id="gen", human_image="https://example.com/person.png",'
        ' cloth_image="https://example.com/shirt.png", model_name="kolors-virtual-try-on-v1-5")',
        "/v1/images/kolors-virtual-try-on",
        {
            "human_image": "https://example.com/person.png",
            "cloth_image": "https://example.com/shirt.png",
            "model_name": "kolors-virtual-try-on-v1-5",
        },
        "images",
        1,
        id="kolors-virtual-try-on",
    ),
]


@pytest.mark.parametrize(("operator", "path", "body", "kind", "count"), TYPED)
def test_typed_operator_succeeds_and_sends_only_its_fields(
    emulator, recorder, run_dag, operator, path, body, kind, count
):
    result = run_dag(dag_body(operator[:-1] + f", {FAST})"))
    assert result.state == "success"
    urls, _ = assert_succeeded(result, emulator, "gen", kind, count)
    (sent,) = creates(recorder)
    assert sent["path"] == path
    assert EXTERNAL_ID.match(sent["body"].pop("external_task_id"))
    assert sent["body"] == body
    assert emulator.stats()["creates"] == 1
    if kind == "images":  # n=3 gives three files, in Kling's order
        assert [u.rsplit("/", 1)[1] for u in urls] == [f"{i}.png" for i in range(count)]


def test_callback_url_receives_the_bare_task_on_each_status_change(
    emulator, kling_conn, callback_server, run_dag
):
    hook_url = f"{callback_server.url}/kling/callback"
    result = run_dag(
        dag_body(
            f'KlingTextToVideoOperator(task_id="t2v", prompt="a fox", callback_url="{hook_url}", {FAST})'
        )
    )
    urls, task = assert_succeeded(result, emulator, "t2v", "videos")
    assert callback_server.wait_for(lambda reqs: len(reqs) >= 3), callback_server.requests
    calls = callback_server.requests
    assert [(c["method"], c["path"]) for c in calls] == [("POST", "/kling/callback")] * 3
    bodies = [c["body"] for c in calls]
    assert [b["task_status"] for b in bodies] == ["submitted", "processing", "succeed"]
    for body in bodies:  # the bare task object, not the {"code", "data"} envelope
        assert "code" not in body and "data" not in body
        assert body["task_id"] == task["task_id"]
        assert body["task_info"]["external_task_id"] == task["task_info"]["external_task_id"]
    assert bodies[-1]["task_result"]["videos"][0]["url"] == urls[0]
    assert emulator.stats()["callbacks_sent"] == 3


def test_wait_for_completion_false_returns_the_id_for_the_sensor(emulator, kling_conn, run_dag):
    result = run_dag(
        dag_body(
            'gen = KlingImageGenerationOperator(task_id="gen", prompt="teapots", n=2,',
            "    wait_for_completion=False)",
            'wait = KlingTaskSensor(task_id="wait", kling_task_id=gen.output, task_type="generations",',
            "    poke_interval=0.2)",
            "@task",
            "def id_type(ti=None):",
            "    return type(ti.xcom_pull(task_ids='gen')).__name__",
            "gen >> id_type()",
            imports="from airflow.providers.common.compat.sdk import task\n"
            "from airflow_provider_kling.operators.kling import KlingImageGenerationOperator\n"
            "from airflow_provider_kling.sensors.kling import KlingTaskSensor\n",
        )
    )
    assert result.state == "success"
    kling_id = str(result.xcom("gen", key="kling_task_id"))
    assert str(result.xcom("gen")) == kling_id and kling_id.isdigit()
    assert result.xcom("id_type") == "str"  # inside tasks the id stays a string (never int/float)
    assert result.xcom("gen", key="kling_task") is None  # nothing waited for, nothing to push
    if AIRFLOW_V_3_0_PLUS:  # Airflow 3 workers store each link's value; Airflow 2's webserver asks live
        assert result.xcom("gen", key=KlingResultLink().xcom_key) == ""  # no result yet: the link is empty
    assert result.xcom("wait") == [f"{emulator.url}/media/{kling_id}/{i}.png" for i in range(2)]
    assert result.xcom("wait", key="kling_task")["task_id"] == kling_id
    stats = emulator.stats()
    assert stats["creates"] == 1
    # The operator did not poll: every query of the task came from the sensor, after the create.
    assert stats["queries_by_task"][kling_id] >= 1


def test_not_deferrable_polls_on_the_worker(emulator, recorder, run_dag):
    result = run_dag(
        dag_body(
            'KlingImageGenerationOperator(task_id="gen", prompt="a teapot", deferrable=False, n=1,'
            f" initial_delay=0.1, {FAST})"
        )
    )
    assert result.state == "success"
    _, task = assert_succeeded(result, emulator, "gen", "images")
    polls = recorder.matching("GET", f"/generations/{task['task_id']}")
    assert len(polls) >= 2  # it polled until the task ended (0.4 s at 0.2 s intervals)
    assert all(r["user_agent"].startswith("python-requests") for r in polls)  # the worker's sync hook
    assert not any("aiohttp" in r["user_agent"] for r in recorder.requests)


@pytest.mark.parametrize("deferrable", [False, True])
def test_generation_slower_than_timeout_fails_with_timeout(emulator, kling_conn, run_dag, capfd, deferrable):
    emulator.configure(task_duration=30)
    result = run_dag(
        dag_body(
            f'KlingTextToVideoOperator(task_id="t2v", prompt="slow", deferrable={deferrable},',
            f"    timeout=0.6, {FAST})",
        )
    )
    errors = task_error(output_of(capfd))
    assert result.task_state("t2v") == "failed"
    assert re.search(
        r"AirflowSensorTimeout: Kling task \d+ did not finish (within 0.6s|before the deadline)", errors
    )
    assert emulator.stats()["creates"] == 1


@pytest.mark.parametrize("deferrable", [False, True])
def test_failed_generation_fails_with_klings_reason_and_no_retry(
    emulator, kling_conn, run_dag, capfd, deferrable
):
    emulator.configure(fail_next={"count": 1, "message": "Image pixel is invalid"})
    result = run_dag(
        dag_body(
            f'KlingTextToVideoOperator(task_id="t2v", prompt="x", deferrable={deferrable}, retries=2,',
            f"    retry_delay=datetime.timedelta(seconds=0), {FAST})",
        )
    )
    errors = task_error(output_of(capfd))
    assert result.task_state("t2v") == "failed"
    assert result.ti("t2v").try_number == 1  # a failed generation is final: Airflow's retries are not used
    assert re.search(r"AirflowFailException: Kling task \d+ failed: Image pixel is invalid", errors)
    assert emulator.stats()["creates"] == 1


def read_link_task(operator: str) -> tuple[str, ...]:
    """DAG lines of a task ``read_link`` returning what ``KlingResultLink`` offers for task ``gen`` (try 1),
    given ``operator`` (a Python expression) as the link's operator."""
    return (
        "@task",
        "def read_link(**context):",
        "    from airflow.models.taskinstancekey import TaskInstanceKey",
        "    from airflow_provider_kling.links import KlingResultLink",
        "    ti = context['ti']",
        "    key = TaskInstanceKey(ti.dag_id, 'gen', ti.run_id, 1, -1)",
        f"    return KlingResultLink().get_link({operator}, ti_key=key)",
    )


def test_extra_link_is_the_first_result_url(emulator, kling_conn, run_dag):
    link = KlingTextToVideoOperator.operator_extra_links[0]
    assert isinstance(link, KlingResultLink)
    result = run_dag(
        dag_body(
            f'gen = KlingImageGenerationOperator(task_id="gen", prompt="a teapot", n=2, {FAST})',
            *read_link_task("dag.get_task('gen')"),
            "gen >> read_link()",
            imports="from airflow.providers.common.compat.sdk import task\n"
            "from airflow_provider_kling.operators.kling import KlingImageGenerationOperator\n",
        )
    )
    assert result.state == "success"
    urls, _ = assert_succeeded(result, emulator, "gen", "images", count=2)
    assert result.xcom("read_link") == urls[0]
    if AIRFLOW_V_3_0_PLUS:  # what the UI shows, stored by the worker (Airflow 2 calls get_link live)
        assert result.xcom("gen", key="_link_KlingResultLink") == urls[0]


def test_the_extra_link_never_offers_anything_but_an_http_url(emulator, kling_conn, run_dag):
    """An XCom written before result URLs were filtered (or by another task) cannot put ``javascript:`` in the
    UI."""
    result = run_dag(
        dag_body(
            "@task",
            "def gen():",
            "    return ['javascript:alert(1)', 'https://cdn.example.com/ok.mp4']",
            *read_link_task("None"),
            "gen() >> read_link()",
            imports="from airflow.providers.common.compat.sdk import task\n",
        )
    )
    assert result.state == "success"
    assert result.xcom("read_link") == ""


def test_expand_over_prompts_gives_urls_per_map_index(emulator, recorder, run_dag):
    prompts = ["a cat", "a dog", "a heron"]
    result = run_dag(
        dag_body(f'KlingTextToVideoOperator.partial(task_id="gen", {FAST}).expand(prompt={prompts!r})')
    )
    assert result.state == "success"
    seen = {}
    for index in range(3):
        urls, task = assert_succeeded(result, emulator, "gen", "videos", map_index=index)
        seen[task["task_id"]] = urls
    assert len(seen) == 3  # three Kling tasks, each with its own URLs
    sent = {r["body"]["prompt"]: r["body"]["external_task_id"] for r in creates(recorder)}
    assert sorted(sent) == sorted(prompts) and len(set(sent.values())) == 3
    for index, prompt in enumerate(prompts):  # map index i got the task made from prompt i
        task = result.xcom("gen", key="kling_task", map_index=index)
        assert task["task_info"]["external_task_id"] == sent[prompt]
