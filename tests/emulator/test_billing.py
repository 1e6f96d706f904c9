"""Costs: ``GET /account/costs`` (kling-api.md §8), the tasks' cost and watermark fields (§3), over HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_kling.testing import EmulatorServer
from tests.emulator.client import IMAGE_URL, SECRET, Api, jump, make_jwt

PACK_FIELDS = {
    "resource_pack_name",
    "resource_pack_id",
    "resource_pack_type",
    "total_quantity",
    "remaining_quantity",
    "purchase_time",
    "effective_time",
    "invalid_time",
    "status",
}


def costs(api: Api, **params: object) -> requests.Response:
    return api.get("/account/costs", **params)


def now_ms() -> int:
    return int(time.time() * 1000)


def test_costs_list_the_resource_packs(server: EmulatorServer, api: Api) -> None:
    server.configure(costs_min_interval=0)
    response = costs(api, start_time=0, end_time=now_ms())
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0 and body["data"]["code"] == 0
    packs = body["data"]["resource_pack_subscribe_infos"]
    assert all(set(pack) == PACK_FIELDS for pack in packs)
    assert {pack["status"] for pack in packs} == {"online", "expired", "runOut"}
    assert {pack["resource_pack_type"] for pack in packs} == {"decreasing_total", "constant_period"}
    assert all(isinstance(pack["purchase_time"], int) and pack["purchase_time"] > 1.6e12 for pack in packs)
    name = packs[0]["resource_pack_name"]
    [only] = costs(api, start_time=0, end_time=now_ms(), resource_pack_name=name).json()["data"][
        "resource_pack_subscribe_infos"
    ]
    assert only == packs[0]
    # The window selects packs valid at some time in it: a year from now the expired pack is gone.
    later = now_ms() + 200 * 86_400_000
    future = costs(api, start_time=later, end_time=later + 1000).json()["data"][
        "resource_pack_subscribe_infos"
    ]
    assert "expired" not in {pack["status"] for pack in future} and len(future) < len(packs)
    assert costs(api, start_time=1, end_time=2).json()["data"]["resource_pack_subscribe_infos"] == []


def test_costs_come_from_the_config(server: EmulatorServer, api: Api) -> None:
    pack = {"resource_pack_name": "Mine", "status": "online", "effective_time": 0, "invalid_time": 2 * 10**12}
    server.configure(resource_packs=[pack])
    packs = costs(api, start_time=0, end_time=now_ms()).json()["data"]["resource_pack_subscribe_infos"]
    assert packs == [pack]
    bad = requests.post(
        f"{server.url}/emulator/config", json={"resource_packs": [{"status": "x"}]}, timeout=5
    )
    assert bad.status_code == 400 and "resource_packs" in bad.json()["error"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "start_time must be a Unix time in ms"),
        ({"start_time": 0}, "end_time must be a Unix time in ms"),
        ({"start_time": "yesterday", "end_time": 1}, "start_time"),
        ({"start_time": 5, "end_time": 4}, "start_time must not be after end_time"),
    ],
)
def test_costs_parameters(server: EmulatorServer, api: Api, params: dict[str, object], expected: str) -> None:
    server.configure(costs_min_interval=0)
    response = costs(api, **params)
    assert (response.status_code, response.json()["code"]) == (400, 1201)
    assert expected in response.json()["message"]


def test_costs_are_limited_to_one_call_per_second_per_account(server: EmulatorServer, api: Api) -> None:
    server.configure(access_keys={"ak-1": SECRET})
    window = {"start_time": 0, "end_time": now_ms()}
    assert costs(api, **window).ok
    second = costs(api, **window)
    assert (second.status_code, second.json()["code"]) == (429, 1302)
    other = Api(server, token=make_jwt("ak-1", SECRET, time.time()))
    assert costs(other, **window).ok  # another account has its own budget
    resigned = Api(server, token=make_jwt("ak-1", SECRET, time.time(), exp=int(time.time()) + 999))
    assert costs(resigned, **window).json()["code"] == 1302  # a fresh JWT is still the same access key
    jump(server, 1.0)
    assert costs(api, **window).ok
    server.configure(costs_min_interval=0)
    assert all(costs(api, **window).ok for _ in range(3))
    assert server.stats()["costs_requests"] == 8


def test_costs_need_credentials_and_live_only_at_the_root(server: EmulatorServer, api: Api) -> None:
    window = {"start_time": 0, "end_time": now_ms()}
    response = costs(Api(server, token=None), **window)
    assert (response.status_code, response.json()["code"]) == (401, 1001)
    for path in ("/kling/account/costs", "/v1/account/costs"):
        response = api.get(path, **window)
        assert (response.status_code, response.json()["code"]) == (404, 1202), path


# ---- what tasks cost --------------------------------------------------------------------------------


CHARGES = [
    ("text2video", {"prompt": "x"}, "1"),  # std, 5 s
    ("text2video", {"prompt": "x", "mode": "pro", "duration": "10"}, "7"),
    ("text2video", {"prompt": "x", "model_name": "kling-v3", "mode": "4k", "duration": "3"}, "4.2"),
    ("image2video", {"image": IMAGE_URL, "mode": "pro"}, "3.5"),
    ("generations", {"prompt": "x", "n": 3}, "0.75"),
    ("kolors-virtual-try-on", {"human_image": IMAGE_URL, "cloth_image": IMAGE_URL}, "1"),
]


def test_tasks_report_what_they_cost(server: EmulatorServer, api: Api) -> None:
    ids = [(task_type, api.created_id(task_type, body), units) for task_type, body, units in CHARGES]
    running = api.data("text2video", ids[0][1])
    assert "final_unit_deduction" not in running and "final_balance_deduction" not in running
    assert server.stats()["units_charged"] == 0
    jump(server, 1)
    total = 0.0
    for task_type, task_id, units in ids:
        task = api.data(task_type, task_id)
        assert task["final_unit_deduction"] == units, task_type
        assert task["final_balance_deduction"] == {
            "quota": "0",
            "list_price": f"{float(units) * 0.14:.4f}".rstrip("0").rstrip("."),
        }
        total += float(units)
    stats = server.stats()
    assert stats["units_charged"] == pytest.approx(total)
    assert stats["units_charged_by_type"] == pytest.approx(
        {"text2video": 12.2, "image2video": 3.5, "generations": 0.75, "kolors-virtual-try-on": 1}
    )


def test_failed_tasks_cost_nothing_and_charges_are_configurable(server: EmulatorServer, api: Api) -> None:
    server.configure(
        fail_next={"count": 1, "message": "nope"},
        unit_charges={
            "video.std": 2,
            "video.pro": 4,
            "video.4k": 8,
            "image": 1,
            "audio": 1,
            "generations": 0.5,
        },
    )
    failed = api.created_id("text2video", {"prompt": "x"})
    video = api.created_id("text2video", {"prompt": "x", "duration": "10"})
    images = api.created_id("generations", {"prompt": "x", "n": 4})
    jump(server, 1)
    task = api.data("text2video", failed)
    assert task["final_unit_deduction"] == "0" and "final_balance_deduction" not in task
    assert api.data("text2video", video)["final_unit_deduction"] == "4"
    assert api.data("generations", images)["final_unit_deduction"] == "2"  # a per-type key: 0.5 per image
    assert server.stats()["units_charged"] == 6
    bad = requests.post(f"{server.url}/emulator/config", json={"unit_charges": {"image": 1}}, timeout=5)
    assert bad.status_code == 400 and "video.std" in bad.json()["error"]


def test_watermarked_results(server: EmulatorServer, api: Api) -> None:
    marked = api.created_id("generations", {"prompt": "x", "n": 2, "watermark_info": {"enabled": True}})
    video = api.created_id("text2video", {"prompt": "x", "watermark_info": {"enabled": True}})
    unmarked = api.created_id("text2video", {"prompt": "x", "watermark_info": {"enabled": False}})
    plain = api.created_id("text2video", {"prompt": "x"})
    assert api.data("generations", marked)["watermark_info"] == {"enabled": True}  # known from the start
    jump(server, 1)
    images = api.data("generations", marked)["task_result"]["images"]
    assert [image["watermark_url"] for image in images] == [
        f"{server.url}/media/{marked}/{i}-watermarked.png" for i in range(2)
    ]
    response = requests.get(images[1]["watermark_url"], timeout=5)
    assert response.headers["Content-Type"] == "image/png" and response.content.startswith(b"\x89PNG")
    [clip] = api.data("text2video", video)["task_result"]["videos"]
    response = requests.get(clip["watermark_url"], timeout=5)
    assert response.ok and response.headers["Content-Type"] == "video/mp4"
    task = api.data("text2video", unmarked)
    assert task["watermark_info"] == {"enabled": False}
    assert "watermark_url" not in task["task_result"]["videos"][0]
    assert requests.get(f"{server.url}/media/{unmarked}/0-watermarked.mp4", timeout=5).status_code == 404
    assert "watermark_info" not in api.data("text2video", plain)
