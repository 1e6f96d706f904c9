"""``KlingHook.get_quota`` against the emulator: Kling's resource packs, a gateway's billing at its root, the
new-api fallback, gateway errors sent with HTTP 200, and the connection's ``quota_source``."""

from __future__ import annotations

import pytest

from airflow_provider_kling.exceptions import KlingConnectionConfigError, KlingResponseError
from airflow_provider_kling.hooks.kling import KlingHook

#: The emulator's default account: online video 2412.5 of 3000, image 9871.25 of 10000, audio 500 of 500; an
#: expired video pack and an image pack that ran out do not count.
ONLINE_LEFT, ONLINE_TOTAL = 2412.5 + 9871.25 + 500, 3000 + 10000 + 500


def test_kling_direct_sums_the_online_packs(emulator, kling_conn):
    quota = KlingHook().get_quota()
    assert (quota.source, quota.unit) == ("kling", "units")
    assert (quota.remaining, quota.total) == (ONLINE_LEFT, ONLINE_TOTAL)
    assert {p["status"] for p in quota.packs or []} >= {"online"}
    assert emulator.stats()["costs_requests"] == 1


def test_a_pack_filter_counts_only_matching_packs(emulator, kling_conn):
    assert KlingHook().get_quota("Video").remaining == 2412.5
    emulator.configure(costs_min_interval=0)
    assert KlingHook().get_quota("constant_period").remaining == 500


def test_klings_one_request_per_second_is_waited_out(emulator, kling_conn):
    first, second = KlingHook().get_quota(), KlingHook().get_quota()
    assert first.remaining == second.remaining == ONLINE_LEFT
    stats = emulator.stats()
    assert stats["answers_by_code"].get("1302", 0) >= 1 and stats["costs_requests"] >= 3


def test_a_gateway_host_reads_the_billing_at_the_gateway_root(emulator, kling_conn):
    kling_conn(host=emulator.url + "/kling")
    quota = KlingHook().get_quota()
    assert (quota.source, quota.unit, quota.remaining, quota.total) == ("gateway", "USD", 74.5, 100.0)
    assert emulator.stats()["billing_requests"] == 2 and emulator.stats()["costs_requests"] == 0


def test_a_gateway_without_dashboard_billing_falls_back_to_token_usage(emulator, kling_conn):
    usage = {"name": "batch", "total_granted": 500000, "total_used": 120000, "total_available": 380000}
    emulator.configure(
        gateway_billing={"dashboard": False, "token_usage": {**usage, "unlimited_quota": False}}
    )
    kling_conn(host=emulator.url + "/kling")
    quota = KlingHook().get_quota()
    assert (quota.source, quota.unit, quota.remaining, quota.total) == ("gateway", "quota", 380000, 500000)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("error_object", "gateway error: quota query failed: upstream billing unavailable"),
        ("success_false", "gateway error: invalid token: billing is not enabled for this key"),
    ],
)
def test_gateway_errors_sent_with_http_200_are_clear_errors(emulator, kling_conn, mode, message):
    emulator.configure(gateway_billing={"error": mode})
    kling_conn(host=emulator.url + "/kling")
    with pytest.raises(KlingResponseError, match=message):
        KlingHook().get_quota()


def test_quota_source_overrides_the_guess(emulator, kling_conn):
    kling_conn(host=emulator.url, quota_source="gateway")
    assert KlingHook().get_quota().source == "gateway"
    kling_conn(host=emulator.url, quota_source="none")
    with pytest.raises(KlingConnectionConfigError, match="quota_source 'none'"):
        KlingHook().get_quota()
    kling_conn(host=emulator.url, quota_source="sometimes")
    with pytest.raises(
        KlingConnectionConfigError, match="quota_source' must be one of auto, kling, gateway, none"
    ):
        KlingHook().get_quota()
