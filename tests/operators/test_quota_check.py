"""``KlingQuotaCheckOperator`` first in a batch: it lets an affordable batch run and stops one the account
cannot pay for before any create, on Kling direct and through a gateway; ``soft_fail`` skips instead."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowSkipException

from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.operators.quota import KlingQuotaCheckOperator
from tests.operators.helpers import output_of

KLING_SHORT = "Not enough Kling quota of packs matching 'Video': 2412.5 units left (kling), 5000 units needed"
GATEWAY_SHORT = "Not enough Kling quota of packs matching 'Video': 74.5 USD left (gateway), 80 USD needed"


@pytest.mark.parametrize(
    ("gateway", "needed", "left"),
    [(False, 2 * 5.0, "2412.5 units"), (True, 2 * 5.0, "74.5 USD")],
    ids=["kling", "gateway"],
)
def test_an_affordable_batch_runs(emulator, kling_conn, run_dag_file, gateway, needed, left, capfd):
    if gateway:
        kling_conn(host=emulator.url + "/kling")
    result = run_dag_file("kling_quota_batch", run_conf={"needed": needed})
    assert result.state == "success"
    assert emulator.stats()["creates"] == 2
    quota = result.xcom("quota")
    assert quota["source"] == ("gateway" if gateway else "kling")
    assert f"{left} left of" in output_of(capfd)


@pytest.mark.parametrize(
    ("gateway", "needed", "message"),
    [
        (
            False,
            5000,
            "Not enough Kling quota of packs matching 'Video': 2412.5 units left (kling), 5000 units needed",
        ),
        (
            True,
            80,
            "Not enough Kling quota of packs matching 'Video': 74.5 USD left (gateway), 80 USD needed",
        ),
    ],
    ids=["kling", "gateway"],
)
def test_a_batch_the_account_cannot_pay_for_sends_no_create(
    emulator, kling_conn, run_dag_file, capfd, gateway, needed, message
):
    if gateway:
        kling_conn(host=emulator.url + "/kling")
    result = run_dag_file("kling_quota_batch", run_conf={"needed": needed})
    assert result.task_state("quota") == "failed" and result.ti("quota").try_number == 1
    assert message in output_of(capfd)
    assert emulator.stats()["create_attempts"] == 0


def test_soft_fail_skips_the_batch(emulator, kling_conn):
    op = KlingQuotaCheckOperator(task_id="quota", min_remaining=10**6, soft_fail=True)
    with pytest.raises(AirflowSkipException, match="units needed"):
        op.execute({})
    assert emulator.stats()["create_attempts"] == 0


@pytest.mark.parametrize("bad", [-1, float("nan"), "lots", True])
def test_min_remaining_is_checked_when_the_dag_is_parsed(bad):
    with pytest.raises(KlingValidationError, match="min_remaining must be a number"):
        KlingQuotaCheckOperator(task_id="quota", min_remaining=bad)
