"""``completion_asset`` on the generation operators (``dag.test()`` against the emulator): the create body
carries a callback URL whose token verifies, the task ends once submitted with XCom ``kling_completion``,
missing extras fail before any request; on Airflow before 3.1 the argument is refused when parsed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from airflow_provider_kling.callbacks import CALLBACK_PREFIX, CallbackTarget, verify_token
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.operators.kling import KlingCreateTaskOperator, KlingTextToVideoOperator
from tests.callbacks.conftest import ASSET, CALLBACK_SECRET, needs_plugin
from tests.operators.helpers import dag_body, output_of

SUBMIT = f'KlingTextToVideoOperator(task_id="gen", prompt="a fox", completion_asset="{ASSET}"{{more}})'


def submit_dag(more: str = "") -> str:
    return dag_body(SUBMIT.format(more=more))


@needs_plugin
def test_the_operator_submits_with_a_signed_callback_and_ends(
    emulator, recorder, receiver, events_conn, run_dag
):
    events_conn(host=recorder.url)
    result = run_dag(submit_dag())
    assert result.state == "success"
    (create,) = recorder.requests  # one create, no status query, no lookup
    assert create["method"] == "POST" and create["path"] == "/v1/videos/text2video"
    kling_id = str(result.xcom("gen", key="kling_task_id"))
    assert str(result.xcom("gen")) == kling_id  # return_value: the task id, as with wait_for_completion=False

    url = urlsplit(create["body"]["callback_url"])
    _, version, kind, encoded, token = url.path[len(CALLBACK_PREFIX) :].split("/")
    assert f"{url.scheme}://{url.netloc}" == receiver.url and (version, kind) == ("v1", "callback")
    verify_token(CALLBACK_SECRET, encoded, token)
    ti = result.ti("gen")
    target = CallbackTarget.decode(encoded)
    assert target == CallbackTarget(
        conn_id="kling_default",
        asset_name=ASSET,
        asset_uri=ASSET,
        task_type="text2video",
        external_task_id=create["body"]["external_task_id"],
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id="gen",
        map_index=-1,
    )
    assert result.xcom("gen", key="kling_completion") == {**target.to_dict(), "kling_task_id": kling_id}


@needs_plugin
def test_the_completion_asset_is_declared_by_the_dag():
    op = KlingTextToVideoOperator(task_id="gen", prompt="a fox", completion_asset=ASSET)
    assert [(a.name, a.uri) for a in op.inlets] == [(ASSET, ASSET)]
    # Mapped: declared when the file is parsed too (the task's __init__ runs only when it does), and once.
    partial = KlingTextToVideoOperator.partial(task_id="many", completion_asset=ASSET)
    mapped = partial.expand(prompt=["a", "b"])
    (inlet,) = mapped.partial_kwargs["inlets"]
    assert (inlet.name, inlet.uri) == (ASSET, ASSET)
    assert mapped.partial_kwargs["completion_asset"] == inlet
    unmapped = KlingTextToVideoOperator(task_id="one", prompt="a", **mapped.partial_kwargs)
    assert unmapped.inlets == [inlet]
    assert op.wait_for_completion is False
    waiting = KlingTextToVideoOperator(
        task_id="gen2", prompt="a fox", completion_asset=ASSET, wait_for_completion=True
    )
    assert waiting.wait_for_completion is True


@needs_plugin
@pytest.mark.parametrize(
    ("extras", "named"),
    [
        ({"callback_base_url": None}, "callback_base_url"),
        ({"callback_secret": None}, "callback_secret"),
        ({"callback_base_url": None, "callback_secret": None}, "callback_base_url and callback_secret"),
    ],
)
def test_missing_extras_fail_before_any_request(recorder, events_conn, run_dag, capfd, extras, named):
    events_conn(host=recorder.url, **extras)
    result = run_dag(submit_dag())
    assert result.task_state("gen") == "failed"
    assert f"completion_asset needs the extra {named} on connection 'kling_default'" in output_of(capfd)
    assert recorder.requests == []


@needs_plugin
def test_a_callback_url_of_ones_own_is_refused(recorder, events_conn, run_dag, capfd):
    refused = "callback_url cannot be set together with completion_asset"
    with pytest.raises(KlingValidationError, match=refused):
        KlingTextToVideoOperator(
            task_id="gen", prompt="x", completion_asset=ASSET, callback_url="https://mine.example/cb"
        )
    # A templated payload is only known at run time: refused then, before any request.
    events_conn(host=recorder.url)
    result = run_dag(
        dag_body(
            'KlingCreateTaskOperator(task_id="gen", task_type="text2video", completion_asset="x",',
            """    payload='{{ {"prompt": "x", "callback_url": "https://mine.example/cb"} | tojson }}')""",
        )
    )
    assert result.task_state("gen") == "failed"
    assert refused in output_of(capfd)
    assert recorder.requests == []


@needs_plugin
def test_waiting_for_completion_still_works_with_a_completion_asset(emulator, recorder, events_conn, run_dag):
    events_conn(host=recorder.url)
    result = run_dag(submit_dag(", wait_for_completion=True, poll_interval=0.2, initial_delay=0"))
    assert result.state == "success"
    kling_id = str(result.xcom("gen", key="kling_task_id"))
    assert result.xcom("gen") == [f"{emulator.url}/media/{kling_id}/0.mp4"]
    assert "callback_url" in recorder.matching("POST", "/v1/videos")[0]["body"]


@needs_plugin
@pytest.mark.parametrize("value", [42, "", "   ", ["a"]])
def test_bad_completion_assets_are_refused(value):
    with pytest.raises(KlingValidationError, match="completion_asset must be an Asset or an asset name"):
        KlingCreateTaskOperator(task_id="gen", task_type="text2video", completion_asset=value)


@pytest.mark.skipif(AIRFLOW_V_3_1_PLUS, reason="the refusal is for Airflow before 3.1")
def test_before_airflow_3_1_completion_asset_is_refused_when_parsed():
    with pytest.raises(KlingValidationError, match=r"completion_asset needs Airflow 3\.1 or newer"):
        KlingTextToVideoOperator(task_id="gen", prompt="a fox", completion_asset=ASSET)
    with pytest.raises(KlingValidationError, match=r"completion_asset needs Airflow 3\.1 or newer"):
        KlingTextToVideoOperator.partial(task_id="many", completion_asset=ASSET)
    # Without it, the operator is what it always was.
    assert KlingTextToVideoOperator(task_id="gen", prompt="a fox").wait_for_completion is True
