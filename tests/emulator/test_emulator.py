"""Tests of the Kling emulator itself, over real loopback HTTP, against kling-api.md."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import jwt
import pytest
import requests

from airflow_provider_kling.testing import EmulatorConfig, EmulatorServer, KlingEmulator
from airflow_provider_kling.testing.__main__ import build_parser, config_from_args
from tests.emulator.client import IMAGE_URL, SECRET, TOKEN, Api, jump, make_jwt, wait_for

REPO = Path(__file__).resolve().parents[2]


# ---- envelope, lifecycle, lookup ---------------------------------------------------------------------


def test_lifecycle_is_computed_from_the_clock(server: EmulatorServer, api: Api) -> None:
    server.configure(submitted_seconds=10, task_duration=30)
    response = api.create("text2video", {"prompt": "a cat", "duration": "10", "external_task_id": "ext-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0 and body["message"] == "SUCCEED" and len(body["request_id"]) == 36
    task = body["data"]
    task_id = task["task_id"]
    assert isinstance(task_id, str) and len(task_id) == 18 and task_id.isdigit()
    assert task["task_status"] == "submitted" and "task_result" not in task
    assert task["task_info"] == {"external_task_id": "ext-1"}
    assert task["created_at"] == task["updated_at"] and task["created_at"] > 1.6e12

    jump(server, 10)
    task = api.data("text2video", task_id)
    assert task["task_status"] == "processing" and task["task_result"] == {}
    assert task["updated_at"] == task["created_at"] + 10_000

    jump(server, 20)
    task = api.data("text2video", task_id)
    assert task["task_status"] == "succeed" and task["task_status_msg"] == ""
    assert task["updated_at"] == task["created_at"] + 30_000
    [video] = task["task_result"]["videos"]
    assert video["duration"] == "10" and video["id"]
    assert video["url"] == f"{server.url}/media/{task_id}/0.mp4"


def test_real_time_progression_and_per_type_durations(server: EmulatorServer, api: Api) -> None:
    server.configure(task_durations={"generations": 60})
    video = api.created_id("text2video", {"prompt": "x"})
    image = api.created_id("generations", {"prompt": "x", "n": 3})
    time.sleep(0.35)
    assert api.data("text2video", video)["task_status"] == "succeed"
    assert api.data("generations", image)["task_status"] == "processing"
    jump(server, 60)
    images = api.data("generations", image)["task_result"]["images"]
    assert [i["index"] for i in images] == [0, 1, 2]
    assert images[2]["url"].endswith(f"/media/{image}/2.png")


def test_duration_spread_is_seeded_and_bounded(server: EmulatorServer, api: Api) -> None:
    def durations() -> list[float]:
        ids = [api.created_id("text2video", {"prompt": f"p{i}"}) for i in range(20)]
        jump(server, 3600)  # every task has ended: updated_at is its end
        tasks = [api.data("text2video", task_id) for task_id in ids]
        return [(task["updated_at"] - task["created_at"]) / 1000 for task in tasks]

    server.configure(task_duration=5, task_duration_spread=40, seed=7)
    first = durations()
    assert all(5 <= d < 45 for d in first) and max(first) - min(first) > 10, first
    server.configure(seed=7)
    again = durations()  # the same seed spreads a batch the same way (to the millisecond of the stamps)
    assert all(abs(a - b) <= 0.002 for a, b in zip(again, first, strict=True)), (again, first)
    server.configure(task_duration_spread=0)
    assert set(durations()) == {5.0}


def test_gateway_prefix_external_id_and_task_type_isolation(server: EmulatorServer) -> None:
    gateway, direct = Api(server, prefix="/kling/v1"), Api(server)
    task_id = gateway.created_id("image2video", {"image": IMAGE_URL, "external_task_id": "ext-i2v"})
    assert direct.data("image2video", task_id)["task_id"] == task_id
    assert gateway.data("image2video", "ext-i2v")["task_id"] == task_id
    for task_type, ident in (("text2video", task_id), ("text2video", "ext-i2v"), ("image2video", "999")):
        response = direct.query(task_type, ident)
        assert response.status_code == 404
        assert response.json()["code"] == 1203 and response.json()["message"] == "task not found"
    for method, path in (("GET", "/v1/videos/nope/1"), ("GET", "/foo"), ("POST", "/v1/images/generations/1")):
        response = direct.session.request(method, server.url + path, timeout=5)
        assert response.status_code == 404 and response.json()["code"] == 1202


@pytest.mark.parametrize(
    "path", ["/v1/videos/nope/1", "/foo", "/kling/account/costs", "/v1/videos/text2video/1/extra"]
)
@pytest.mark.parametrize(("token", "code"), [(None, 1001), ("wrong-token", 1002)])
def test_credentials_are_checked_before_routing(
    server: EmulatorServer, path: str, token: str | None, code: int
) -> None:
    """Kling answers 401 on any API path, known or not, before it looks at the path."""
    for method in ("GET", "POST", "DELETE"):
        response = Api(server, token=token).session.request(method, server.url + path, timeout=5)
        assert (response.status_code, response.json()["code"]) == (401, code), (method, path)
    media = requests.get(f"{server.url}/media/1/0.mp4", timeout=5)  # result files need no credentials
    assert (media.status_code, media.json()["code"]) == (404, 1203)


def test_list_is_newest_first_and_paged(api: Api) -> None:
    ids = [api.created_id("text2video", {"prompt": str(i)}) for i in range(5)]
    api.created_id("image2video", {"image": IMAGE_URL})
    assert [t["task_id"] for t in api.list("text2video").json()["data"]] == ids[::-1]
    page = api.list("text2video", pageNum=2, pageSize=2).json()["data"]
    assert [t["task_id"] for t in page] == [ids[2], ids[1]]
    assert api.list("text2video", pageNum=9, pageSize=2).json()["data"] == []
    for params in ({"pageNum": 0}, {"pageNum": 1001}, {"pageSize": 501}, {"pageSize": "x"}):
        response = api.list("text2video", **params)
        assert response.status_code == 400 and response.json()["code"] == 1201


def test_fail_next_fails_tasks_with_http_200(server: EmulatorServer, api: Api) -> None:
    server.configure(fail_next={"count": 2, "message": "Image pixel is invalid"})
    ids = [api.created_id("text2video", {"prompt": "x"}) for _ in range(3)]
    jump(server, 5)
    answers = [api.query("text2video", i) for i in ids]
    assert all(a.status_code == 200 and a.json()["code"] == 0 for a in answers)
    tasks = [a.json()["data"] for a in answers]
    assert [t["task_status"] for t in tasks] == ["failed", "failed", "succeed"]
    assert tasks[0]["task_status_msg"] == "Image pixel is invalid" and tasks[0]["task_result"] == {}
    assert server.configure()["fail_next"] is None


def test_video_extend_needs_a_produced_video(server: EmulatorServer, api: Api) -> None:
    parent_id = api.created_id("text2video", {"prompt": "x"})
    parent_video = api.data("text2video", parent_id)
    assert "task_result" not in parent_video
    jump(server, 1)
    video = api.data("text2video", parent_id)["task_result"]["videos"][0]
    assert api.create("video-extend", {"video_id": "not-ours"}).json()["code"] == 1201
    extend_id = api.created_id("video-extend", {"video_id": video["id"], "prompt": "more"})
    jump(server, 1)
    task = api.data("video-extend", extend_id)
    assert task["task_info"]["parent_video"] == video
    assert task["task_result"]["videos"][0]["duration"] == "4.5"


# ---- auth -----------------------------------------------------------------------------------------------


def test_auth_codes(server: EmulatorServer) -> None:
    server.configure(access_keys={"ak-1": SECRET})
    now = time.time()
    cases = {
        None: 1001,
        "wrong-token": 1002,
        make_jwt("ak-1", "an-entirely-different-secret-key-000", now): 1002,
        make_jwt("ak-unknown", SECRET, now): 1002,
        "a.b.c": 1002,
        make_jwt("ak-1", SECRET, now, nbf=int(now) + 600): 1003,
        make_jwt("ak-1", SECRET, now, exp=int(now) - 1): 1004,
        jwt.encode({"exp": int(now) + 60}, SECRET, algorithm="HS256"): 1000,
    }
    for token, code in cases.items():
        response = Api(server, token=token).create("text2video", {"prompt": "x"})
        assert (response.status_code, response.json()["code"]) == (401, code), token
    response = requests.post(
        f"{server.url}/v1/videos/text2video", json={"prompt": "x"}, headers={"Authorization": ""}, timeout=5
    )
    assert response.json()["code"] == 1001
    assert Api(server, token=make_jwt("ak-1", SECRET, now)).create("text2video", {"prompt": "x"}).ok
    assert Api(server, token=TOKEN).query("text2video", "1").json()["code"] == 1203
    assert server.stats()["creates"] == 1


def test_jwt_expiry_follows_the_clock_offset(server: EmulatorServer) -> None:
    server.configure(access_keys={"ak": SECRET})
    api = Api(server, token=make_jwt("ak", SECRET, time.time()))
    assert api.create("text2video", {"prompt": "x"}).ok
    server.configure(clock_offset=1801)
    assert api.create("text2video", {"prompt": "x"}).json()["code"] == 1004
    server.configure(clock_offset=-60)
    assert api.create("text2video", {"prompt": "x"}).json()["code"] == 1003


def test_auth_can_be_disabled_and_reset_keeps_auth(server: EmulatorServer) -> None:
    server.configure(require_auth=False, task_duration=9)
    assert Api(server, token=None).create("text2video", {"prompt": "x"}).ok
    server.reset()
    config = server.configure()
    assert config["require_auth"] is False and config["task_duration"] == 0.3
    assert server.stats()["creates"] == 0


def test_non_json_body_and_duplicate_external_id(server: EmulatorServer, api: Api) -> None:
    response = api.session.post(api.url("text2video"), data="{nope", timeout=5)
    assert (response.status_code, response.json()["code"]) == (400, 1201)
    first = api.created_id("text2video", {"prompt": "x", "external_task_id": "dup"})
    response = api.create("generations", {"prompt": "y", "external_task_id": "dup"})
    assert (response.status_code, response.json()["code"]) == (400, 1201)
    assert response.json()["message"] == "external_task_id already exists"
    stats = server.stats()
    assert stats["creates"] == 1 and stats["creates_by_external_id"] == {"dup": 2}
    assert stats["create_attempts"] == 3
    assert api.data("text2video", "dup")["task_id"] == first


# ---- concurrency ----------------------------------------------------------------------------------------


def test_concurrency_pools(server: EmulatorServer, api: Api) -> None:
    """One pool per resource-pack kind (§6): video 1 slot, image n slots, try-on 1, audio 1."""
    server.configure(concurrency_limit=2, task_duration=30)
    api.created_id("text2video", {"prompt": "x"})
    api.created_id("image2video", {"image": IMAGE_URL})
    response = api.create("image2video", {"image": IMAGE_URL})
    assert response.status_code == 429
    assert response.json() == {
        **response.json(),
        "code": 1303,
        "message": "parallel task over resource pack limit",
    }
    assert api.created_id("generations", {"prompt": "x", "n": 2})  # separate image pool, n slots
    assert api.create("generations", {"prompt": "x"}).json()["code"] == 1303
    assert api.create("generations", {"prompt": "x", "n": 3}).json()["code"] == 1303
    try_on = {"human_image": IMAGE_URL, "cloth_image": IMAGE_URL}
    assert [api.create("kolors-virtual-try-on", try_on).json()["code"] for _ in range(3)] == [0, 0, 1303]
    assert api.list("text2video").ok  # queries never count
    jump(server, 30)
    assert api.create("image2video", {"image": IMAGE_URL}).ok
    assert api.create("generations", {"prompt": "x", "n": 2}).ok


# ---- faults ---------------------------------------------------------------------------------------------


def _fault_sequence(server: EmulatorServer, api: Api, seed: int) -> list[tuple[int, int | None]]:
    server.reset()
    task_id = api.created_id("text2video", {"prompt": "x"})
    server.configure(faults={"1302": 0.2, "5000": 0.1, "malformed": 0.1}, seed=seed, fault_scope="query")
    out: list[tuple[int, int | None]] = []
    for _ in range(40):
        response = api.query("text2video", task_id)
        try:
            code = response.json()["code"]
        except ValueError:
            code = None
        out.append((response.status_code, code))
    return out


def test_fault_rates_are_deterministic_per_seed(server: EmulatorServer, api: Api) -> None:
    first = _fault_sequence(server, api, seed=7)
    assert set(first) == {(429, 1302), (500, 5000), (200, None), (200, 0)}
    assert _fault_sequence(server, api, seed=8) != first
    assert _fault_sequence(server, api, seed=7) == first
    faults = server.stats()["faults_injected"]
    assert sum(faults.values()) == sum(1 for answer in first if answer != (200, 0))
    assert faults["1302"] == first.count((429, 1302))


def test_fault_scope_create_leaves_queries_alone(server: EmulatorServer, api: Api) -> None:
    task_id = api.created_id("text2video", {"prompt": "x"})
    server.configure(faults={"5001": 1.0}, fault_scope="create")
    assert all(api.query("text2video", task_id).ok for _ in range(5))
    response = api.create("text2video", {"prompt": "x"})
    assert (response.status_code, response.json()["code"]) == (503, 5001)


def test_one_shot_queue(server: EmulatorServer, api: Api) -> None:
    server.configure(
        fail_requests=[
            {"code": 5000, "scope": "create"},
            {"status": 503, "html": True},
            {"code": 1302, "retry_after": 2},
            {"malformed": True},
            {"gateway_error": {"message": "quota exceeded", "type": "insufficient_quota"}, "status": 429},
        ]
    )
    task_id = "123"
    response = api.query("text2video", task_id)  # skips the create-only entry, takes the html one
    assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text
    response = api.create("text2video", {"prompt": "x"})
    assert (response.status_code, response.json()["code"]) == (500, 5000)
    response = api.query("text2video", task_id)
    assert (response.status_code, response.json()["code"], response.headers["Retry-After"]) == (
        429,
        1302,
        "2",
    )
    response = api.query("text2video", task_id)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    response = api.list("text2video")
    assert response.status_code == 429
    assert response.json() == {"error": {"message": "quota exceeded", "type": "insufficient_quota"}}
    assert api.list("text2video").ok
    assert server.configure()["fail_requests"] == []
    faults = server.stats()["faults_injected"]
    assert faults == {"5000": 1, "html": 1, "1302": 1, "malformed": 1, "gateway_error": 1}


def test_after_create_faults_create_the_task(server: EmulatorServer, api: Api) -> None:
    server.configure(
        fail_requests=[
            {"code": 5002, "scope": "create", "after_create": True},
            {"drop": True, "after_create": True},
        ]
    )
    assert api.create("text2video", {"prompt": "x", "mode": "bad"}).json()["code"] == 1201  # not consumed
    response = api.create("text2video", {"prompt": "x", "external_task_id": "e1"})
    assert (response.status_code, response.json()["code"]) == (504, 5002)
    with pytest.raises(requests.ConnectionError):
        api.create("text2video", {"prompt": "x", "external_task_id": "e2"})
    assert api.data("text2video", "e1")["task_info"]["external_task_id"] == "e1"
    assert api.data("text2video", "e2")["task_info"]["external_task_id"] == "e2"
    stats = server.stats()
    assert stats["creates"] == 2 and stats["faults_injected"]["after_create"] == 2
    assert stats["request_log"][2]["status"] is None


def test_drop_is_a_connection_error_for_aiohttp(server: EmulatorServer) -> None:
    # aiohttp >= 3.10 silently retries an idempotent request once after a disconnect, hence two drops.
    server.configure(fail_requests=[{"drop": True}, {"drop": True}])

    async def fetch() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{server.url}/v1/videos/text2video/1") as response,
        ):
            await response.read()

    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(fetch())
    assert server.stats()["faults_injected"] == {"drop": 2}


def test_delays(server: EmulatorServer, api: Api) -> None:
    server.configure(fail_requests=[{"delay": 0.5}])
    with pytest.raises(requests.Timeout):
        api.create("text2video", {"prompt": "x", "external_task_id": "slow"}, timeout=0.2)
    time.sleep(0.4)
    assert api.data("text2video", "slow")  # the slow create still created its task
    server.configure(slow_seconds=0.2)
    started = time.monotonic()
    assert api.query("text2video", "slow").ok
    assert time.monotonic() - started >= 0.2


# ---- stats ----------------------------------------------------------------------------------------------


def test_stats_counters_and_request_log(server: EmulatorServer, api: Api) -> None:
    server.configure(submitted_seconds=600)  # still "submitted" when the stats are read, however slow the run
    task_id = api.created_id("text2video", {"prompt": "x", "external_task_id": "ext"})
    api.query("text2video", task_id)
    api.query("text2video", "ext")
    api.query("text2video", "missing")
    api.list("text2video")
    Api(server, token="bad").list("text2video")
    stats = requests.get(f"{server.url}/emulator/stats", timeout=5).json()
    assert stats["creates"] == stats["create_attempts"] == 1
    assert stats["queries_by_task"] == {task_id: 2}
    assert stats["queries_by_external_id"] == {"ext": 1}
    assert stats["list_requests"] == 2 and stats["requests_total"] == 6
    assert stats["answers_by_code"] == {"0": 4, "1203": 1, "1002": 1}
    assert stats["http_status"] == {"200": 4, "404": 1, "401": 1}
    assert stats["tasks_by_status"] == {"submitted": 1}
    log = stats["request_log"]
    assert [entry["path"] for entry in log][:2] == [
        "/v1/videos/text2video",
        f"/v1/videos/text2video/{task_id}",
    ]
    assert log[0]["method"] == "POST" and log[0]["status"] == 200 and log[0]["code"] == 0
    assert all(a["t"] <= b["t"] for a, b in itertools.pairwise(log))


# ---- running it -----------------------------------------------------------------------------------------


def test_tls(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with EmulatorServer(ssl_context=context) as server:
        assert server.url.startswith("https://127.0.0.1:")
        response = requests.get(
            f"{server.url}/kling/v1/videos/text2video",
            verify=str(cert),
            timeout=5,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.json()["code"] == 0


def test_cli_arguments_build_the_config() -> None:
    args = build_parser().parse_args(
        [
            *("--token", "t1", "--access-key", "ak:s:k", "--fault", "1302=0.5", "--fault", "drop=0.1"),
            *(
                "--fail-next",
                "2:Image pixel is invalid: too small",
                "--concurrency-limit",
                "3",
                "--slow",
                "0.5",
            ),
        ]
    )
    config = config_from_args(args)
    assert config.api_tokens == ["t1"] and config.access_keys == {"ak": "s:k"}
    assert config.faults == {"1302": 0.5, "drop": 0.1}
    assert config.fail_next == {"count": 2, "message": "Image pixel is invalid: too small"}
    assert config.concurrency_limit == 3 and config.slow_seconds == 0.5
    assert config_from_args(build_parser().parse_args(["--no-auth"])).api_tokens == [TOKEN]


def test_cli_process_runs_until_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "airflow_provider_kling.testing", "--port", "0"),
            *("--port-file", str(port_file), "--token", "cli-token", "--task-duration", "0.1"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), timeout=15)
        port = int(port_file.read_text())
        url = f"http://127.0.0.1:{port}"
        response = requests.post(
            f"{url}/v1/videos/text2video", json={"prompt": "x"}, headers={"Authorization": "Bearer cli-token"}
        )
        assert response.json()["code"] == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout is not None
        assert process.stdout.read().strip() == f"Kling emulator listening on {url}"
    finally:
        if process.poll() is None:
            process.kill()


# ---- scale ----------------------------------------------------------------------------------------------


def test_ten_thousand_tasks() -> None:
    """10,000 tasks and 3,000 concurrent queries by id or external id (speed: see benchmarks/)."""
    emulator_config = EmulatorConfig(task_duration=600)
    with EmulatorServer(emulator_config) as server:

        async def run() -> None:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            connector = aiohttp.TCPConnector(limit=32)
            async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
                semaphore = asyncio.Semaphore(32)
                ids: list[str] = []

                async def create(i: int) -> None:
                    async with semaphore:
                        body = {"prompt": "x", "external_task_id": f"e{i}"}
                        async with session.post(f"{server.url}/v1/videos/text2video", json=body) as r:
                            ids.append((await r.json())["data"]["task_id"])

                async def query(i: int) -> None:
                    async with semaphore:
                        ident = ids[i] if i % 2 else f"e{i}"
                        async with session.get(f"{server.url}/v1/videos/text2video/{ident}") as r:
                            assert (await r.json())["code"] == 0

                await asyncio.gather(*(create(i) for i in range(10_000)))
                await asyncio.gather(*(query(i) for i in range(3000)))

        asyncio.run(run())
        stats = server.stats()
        assert stats["creates"] == 10_000 and stats["tasks_by_status"] == {"processing": 10_000}
        assert len(stats["request_log"]) == 2000
        assert sum(stats["queries_by_task"].values()) == 3000 and len(stats["queries_by_external_id"]) == 1500


def test_emulator_builds_an_app_without_a_server() -> None:
    emulator = KlingEmulator()
    assert emulator.make_app() is not None
    assert emulator.config.api_tokens == [TOKEN]
