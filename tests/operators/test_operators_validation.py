"""Invalid input fails before anything is sent or paid for: at construction for literal values, at execution
(still before any request, and without an Airflow retry) for values known only after rendering."""

from __future__ import annotations

import re

import pytest

from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.operators.kling import (
    KlingCreateTaskOperator,
    KlingExtendVideoOperator,
    KlingImageGenerationOperator,
    KlingImageToVideoOperator,
    KlingMultiImageToVideoOperator,
    KlingTextToVideoOperator,
    KlingVirtualTryOnOperator,
)
from tests.operators.helpers import dag_body, output_of, task_error

T2V = KlingTextToVideoOperator
I2V = KlingImageToVideoOperator
MULTI = KlingMultiImageToVideoOperator
EXTEND = KlingExtendVideoOperator
IMAGES = KlingImageGenerationOperator
TRY_ON = KlingVirtualTryOnOperator
URL = "https://example.com/cat.png"
SIMPLE_ZOOM = {"type": "simple", "config": {"zoom": 5}}
VIDEO_RATIOS = r"one of 16:9, 9:16, 1:1; got "
LONG = "x" * 2501


def case(operator, kwargs, match, id):
    return pytest.param(operator, kwargs, match, id=id)


INVALID = [
    # text2video
    case(T2V, {"prompt": None}, r"^prompt is required for text2video$", "t2v-missing-prompt"),
    case(T2V, {"prompt": "   "}, r"^prompt must be a non-empty string; got '   '$", "t2v-blank-prompt"),
    case(T2V, {"prompt": LONG}, r"^prompt must be at most 2500 characters; got 2501$", "t2v-prompt-2501"),
    case(
        T2V,
        {"prompt": "x", "negative_prompt": LONG},
        r"^negative_prompt must be at most 2500 characters; got 2501$",
        "t2v-negative-prompt-2501",
    ),
    case(T2V, {"prompt": 42}, r"^prompt must be a non-empty string; got 42$", "t2v-prompt-not-text"),
    case(
        T2V,
        {"prompt": "x", "cfg_scale": 1.5},
        r"^cfg_scale must be a number from 0 to 1; got 1.5$",
        "cfg-1.5",
    ),
    case(
        T2V,
        {"prompt": "x", "cfg_scale": -0.1},
        r"^cfg_scale must be a number from 0 to 1; got -0.1$",
        "cfg-neg",
    ),
    case(
        T2V,
        {"prompt": "x", "cfg_scale": True},
        r"^cfg_scale must be a number from 0 to 1; got True$",
        "cfg-bool",
    ),
    case(
        T2V, {"prompt": "x", "mode": "turbo"}, r"^mode must be one of std, pro; got 'turbo'$", "t2v-bad-mode"
    ),
    case(
        T2V, {"prompt": "x", "aspect_ratio": "4:3"}, "^aspect_ratio must be " + VIDEO_RATIOS, "t2v-ratio-4:3"
    ),
    case(
        T2V,
        {"prompt": "x", "duration": 7},
        r'^duration must be 5 or 10 \(seconds; sent as the string "5" or "10"\); got 7$',
        "t2v-duration-7",
    ),
    case(
        T2V, {"prompt": "x", "sound": "loud"}, r"^sound must be one of on, off; got 'loud'$", "t2v-bad-sound"
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "simple", "config": {"zoom": 5, "pan": 2}}},
        r"^camera_control.config must be exactly one non-zero value for type 'simple'; "
        r"got \{'zoom': 5, 'pan': 2\}$",
        "camera-two-axes",
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "simple", "config": {"zoom": 0, "tilt": 0}}},
        r"^camera_control.config must be exactly one non-zero value for type 'simple'",
        "camera-no-axis",
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "simple", "config": {"roll": 11}}},
        r"^camera_control.config.roll must be a number from -10 to 10; got 11$",
        "camera-out-of-range",
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "simple", "config": {"spin": 3}}},
        r"^camera_control.config must be one of the keys horizontal, vertical, pan, tilt, roll, zoom; "
        r"got 'spin'$",
        "camera-unknown-axis",
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "simple"}},
        r"^camera_control.config must be an object with horizontal, vertical, pan, tilt, roll, zoom for type "
        r"'simple'; got None$",
        "camera-simple-without-config",
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "forward_up", "config": {"zoom": 5}}},
        r"^camera_control.config must be absent for type 'forward_up'; got \{'zoom': 5\}$",
        "camera-preset-with-config",
    ),
    case(
        T2V,
        {"prompt": "x", "camera_control": {"type": "orbit"}},
        r"^camera_control.type must be one of simple, down_back, forward_up, right_turn_forward, "
        r"left_turn_forward; got 'orbit'$",
        "camera-unknown-type",
    ),
    case(
        T2V,
        {"prompt": "x", "callback_url": "ftp://example.com/hook"},
        r"^callback_url must be an http\(s\) URL; got 'ftp://example.com/hook'$",
        "bad-callback-url",
    ),
    case(
        T2V,
        {"prompt": "x", "external_task_id": "my job/1"},
        r"^external_task_id must match \[A-Za-z0-9._:-\]\{1,128\}; got 'my job/1'$",
        "bad-external-task-id",
    ),
    case(
        T2V,
        {"prompt": "x", "external_task_id": "x" * 129},
        r"^external_task_id must match \[A-Za-z0-9._:-\]\{1,128\}",
        "external-task-id-too-long",
    ),
    case(
        T2V,
        {"prompt": "x", "model_name": ""},
        r"^model_name must be a non-empty string; got ''$",
        "empty-model",
    ),
    # image2video
    case(I2V, {"prompt": "x"}, r"^image2video needs image or image_tail \(at least one\)$", "i2v-no-image"),
    case(
        I2V,
        {"image": URL, "image_tail": URL, "camera_control": SIMPLE_ZOOM},
        r"^image2video fields image_tail and camera_control cannot be combined: use only one of image_tail, "
        r"static_mask/dynamic_masks, camera_control$",
        "i2v-tail-and-camera",
    ),
    case(
        I2V,
        {"image": URL, "static_mask": URL, "camera_control": SIMPLE_ZOOM},
        r"^image2video fields static_mask/dynamic_masks and camera_control cannot be combined",
        "i2v-mask-and-camera",
    ),
    case(
        I2V,
        {
            "image": URL,
            "image_tail": URL,
            "dynamic_masks": [{"mask": URL, "trajectories": [{"x": 1, "y": 2}]}],
        },
        r"^image2video fields image_tail and static_mask/dynamic_masks cannot be combined",
        "i2v-tail-and-masks",
    ),
    case(
        I2V,
        {"image": URL, "dynamic_masks": [{"mask": URL, "trajectories": [{"x": 1, "y": 2}]}] * 7},
        r"^dynamic_masks must be a list of 1 to 6 masks; got \[",
        "i2v-7-masks",
    ),
    case(
        I2V,
        {"image": URL, "dynamic_masks": [{"mask": URL, "trajectories": []}]},
        r"^dynamic_masks\[0\].trajectories must be a non-empty list of \{\"x\": int, \"y\": int\}; got \[\]$",
        "i2v-mask-without-trajectory",
    ),
    case(I2V, {"image": ""}, r"^image must be an http\(s\) URL, raw Base64, or a local", "i2v-empty-image"),
    case(I2V, {"image": URL, "mode": "fast"}, r"^mode must be one of std, pro; got 'fast'$", "i2v-bad-mode"),
    case(I2V, {"image": URL, "duration": "7"}, r"^duration must be 5 or 10 .*; got '7'$", "i2v-duration-7"),
    # multi-image2video
    case(
        MULTI,
        {"image_list": [], "prompt": "x"},
        r"^image_list must be a list of 1 to 4 images; got \[\]$",
        "0-images",
    ),
    case(
        MULTI,
        {"image_list": [URL] * 5, "prompt": "x"},
        r"^image_list must be a list of 1 to 4 images; got \['https://",
        "5-images",
    ),
    case(
        MULTI,
        {"image_list": [URL], "prompt": None},
        r"^prompt is required for multi-image2video$",
        "multi-no-prompt",
    ),
    case(
        MULTI,
        {"image_list": [URL], "prompt": "x", "aspect_ratio": "21:9"},
        "^aspect_ratio must be " + VIDEO_RATIOS + "'21:9'$",
        "multi-ratio-21:9",
    ),
    case(
        MULTI,
        {"image_list": [{"image": None}], "prompt": "x"},
        r"^image_list\[0\].image must be an http\(s\) URL, raw Base64",
        "multi-item-without-image",
    ),
    # video-extend
    case(EXTEND, {"video_id": None}, r"^video_id is required for video-extend$", "extend-no-video"),
    case(
        EXTEND,
        {"video_id": "v1", "cfg_scale": 2},
        r"^cfg_scale must be a number from 0 to 1; got 2$",
        "extend-cfg",
    ),
    # generations
    case(IMAGES, {"prompt": None}, r"^prompt is required for generations$", "images-no-prompt"),
    case(IMAGES, {"prompt": "x", "n": 0}, r"^n must be an integer from 1 to 9; got 0$", "n-0"),
    case(IMAGES, {"prompt": "x", "n": 10}, r"^n must be an integer from 1 to 9; got 10$", "n-10"),
    case(IMAGES, {"prompt": "x", "n": 2.5}, r"^n must be an integer from 1 to 9; got 2.5$", "n-2.5"),
    case(
        IMAGES,
        {"prompt": "x", "image_fidelity": 1.5},
        r"^image_fidelity must be a number from 0 to 1; got 1.5$",
        "image-fidelity-1.5",
    ),
    case(
        IMAGES,
        {"prompt": "x", "human_fidelity": -1},
        r"^human_fidelity must be a number from 0 to 1; got -1$",
        "human-fidelity-neg",
    ),
    case(
        IMAGES,
        {"prompt": "x", "image_reference": "style"},
        r"^image_reference must be one of subject, face; got 'style'$",
        "bad-image-reference",
    ),
    case(
        IMAGES,
        {"prompt": "x", "resolution": "4k"},
        r"^resolution must be one of 1k, 2k; got '4k'$",
        "resolution",
    ),
    case(
        IMAGES,
        {"prompt": "x", "aspect_ratio": "5:4"},
        r"^aspect_ratio must be one of 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9; got '5:4'$",
        "images-ratio-5:4",
    ),
    # kolors-virtual-try-on
    case(
        TRY_ON,
        {"human_image": None},
        r"^human_image is required for kolors-virtual-try-on$",
        "try-on-no-human",
    ),
    case(
        TRY_ON,
        {"human_image": URL, "model_name": "kolors-virtual-try-on-v9"},
        r"^model_name must be one of kolors-virtual-try-on-v1, kolors-virtual-try-on-v1-5; "
        r"got 'kolors-virtual-try-on-v9'$",
        "try-on-bad-model",
    ),
    case(
        TRY_ON,
        {"human_image": URL, "callback_url": "localhost/hook"},
        r"^callback_url must be an http\(s\) URL; got 'localhost/hook'$",
        "try-on-bad-callback",
    ),
]


def test_the_table_covers_every_operator():
    assert {p.values[0] for p in INVALID} == {T2V, I2V, MULTI, EXTEND, IMAGES, TRY_ON}
    assert len(INVALID) >= 30


@pytest.mark.parametrize(("operator", "kwargs", "match"), INVALID)
def test_invalid_literal_fails_at_construction(emulator, kling_conn, operator, kwargs, match):
    with pytest.raises(KlingValidationError, match=match):
        operator(task_id="bad", **kwargs)
    assert emulator.stats()["requests_total"] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task_type": "text2image", "payload": {"prompt": "x"}}, "^task_type must be one of text2video, "),
        (
            {"task_type": "text2video", "payload": {"prompt": "x", "duration": 15}},
            "^duration must be 5 or 10",
        ),
        ({"task_type": "video-extend", "payload": {}}, "^video_id is required for video-extend$"),
        (
            {"task_type": "text2video", "payload": {"prompt": "x"}, "poll_interval": 0},
            "^poll_interval must be > 0",
        ),
        ({"task_type": "text2video", "payload": {"prompt": "x"}, "timeout": -1}, "^timeout must be > 0"),
    ],
    ids=[
        "unknown-task-type",
        "payload-duration-15",
        "payload-missing-video-id",
        "poll-interval-0",
        "timeout-neg",
    ],
)
def test_base_operator_rejects_bad_arguments(emulator, kling_conn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        KlingCreateTaskOperator(task_id="bad", **kwargs)
    assert emulator.stats()["requests_total"] == 0


@pytest.mark.parametrize(
    ("operator", "kwargs"),
    [
        (T2V, {"prompt": "x" * 2500, "cfg_scale": 0, "duration": "10", "mode": "std", "sound": "off"}),
        (
            T2V,
            {"prompt": "x", "cfg_scale": 1, "camera_control": {"type": "down_back"}, "aspect_ratio": "1:1"},
        ),
        (T2V, {"prompt": "x", "camera_control": {"type": "simple", "config": {"pan": -10, "zoom": 0}}}),
        (I2V, {"image_tail": URL, "duration": 10}),
        (I2V, {"image": URL, "dynamic_masks": [{"mask": URL, "trajectories": [{"x": 0, "y": 0}]}] * 6}),
        (MULTI, {"image_list": [URL] * 4, "prompt": "x", "aspect_ratio": "9:16"}),
        (IMAGES, {"prompt": "x", "n": 1, "image_fidelity": 0, "human_fidelity": 1, "aspect_ratio": "2:3"}),
        (IMAGES, {"prompt": "x", "n": 9, "resolution": "1k", "image_reference": "face", "image": URL}),
        (TRY_ON, {"human_image": URL, "model_name": "kolors-virtual-try-on-v1"}),
        (T2V, {"prompt": "x", "model_name": "kling-v9-future"}),
        (IMAGES, {"prompt": "x", "model_name": "kling-v9-future"}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_boundary_values_are_accepted(operator, kwargs):
    operator(task_id="ok", **kwargs)


def test_templated_fields_are_checked_after_rendering_not_at_construction():
    op = T2V(
        task_id="t", prompt="{{ params.prompt }}", mode="{{ params.mode }}", cfg_scale="{{ params.cfg }}"
    )
    assert op.payload == {
        "prompt": "{{ params.prompt }}",
        "mode": "{{ params.mode }}",
        "cfg_scale": "{{ params.cfg }}",
    }
    # A literal in the same operator is still checked at once.
    with pytest.raises(KlingValidationError, match="^sound must be one of on, off"):
        T2V(task_id="t", prompt="{{ params.prompt }}", sound="maybe")


@pytest.mark.parametrize(
    ("operator", "params", "message"),
    [
        (
            'KlingTextToVideoOperator(task_id="gen", prompt="{{ params.prompt * 2501 }}", ',
            {"prompt": "x"},
            "Invalid Kling text2video request: prompt must be at most 2500 characters; got 2501",
        ),
        (
            'KlingTextToVideoOperator(task_id="gen", prompt="a fox", mode="{{ params.mode }}", ',
            {"mode": "ultra"},
            "Invalid Kling text2video request: mode must be one of std, pro; got 'ultra'",
        ),
        (
            'KlingImageGenerationOperator(task_id="gen", prompt="x", n="{{ params.n }}", ',
            {"n": 12},
            "Invalid Kling generations request: n must be an integer from 1 to 9; got 12",
        ),
        (
            'KlingCreateTaskOperator(task_id="gen", task_type="{{ params.kind }}", payload={"prompt": "x"}, ',
            {"kind": "text2image"},
            "Invalid Kling text2image request: task_type must be one of text2video, image2video",
        ),
    ],
    ids=["prompt-2501", "mode-ultra", "n-12", "task-type"],
)
def test_rendered_invalid_value_fails_the_task_without_a_request_or_retry(
    emulator, kling_conn, run_dag, capfd, operator, params, message
):
    result = run_dag(
        dag_body(operator + f"params={params!r}, retries=2, retry_delay=datetime.timedelta(seconds=0))")
    )
    errors = task_error(output_of(capfd))
    assert result.task_state("gen") == "failed"
    assert result.ti("gen").try_number == 1  # AirflowFailException: retrying cannot fix the input
    assert "AirflowFailException: " + message in errors
    stats = emulator.stats()
    assert stats["requests_total"] == 0 and stats["creates"] == 0


def test_rendered_numbers_and_unknown_models_are_sent(emulator, recorder, run_dag):
    """Templates render to strings: a rendered "3" or "0.5" is sent as the number Kling expects."""
    result = run_dag(
        dag_body(
            'KlingImageGenerationOperator(task_id="gen", prompt="{{ params.what }}", n="{{ params.n }}",',
            '    image_fidelity="{{ params.fidelity }}", model_name="kling-v9-future", poll_interval=0.2,',
            '    params={"what": "teapots", "n": 3, "fidelity": 0.25})',
        )
    )
    assert result.state == "success"
    assert len(result.xcom("gen")) == 3
    (create,) = [r for r in recorder.matching("POST") if r["path"] == "/v1/images/generations"]
    body = create["body"]
    assert (body["prompt"], body["n"], body["image_fidelity"]) == ("teapots", 3, 0.25)
    assert body["model_name"] == "kling-v9-future"  # unknown model names pass through
    assert emulator.stats()["creates"] == 1


def test_unknown_model_name_creates_fine(emulator, kling_conn, run_dag):
    result = run_dag(
        dag_body(
            'KlingTextToVideoOperator(task_id="gen", prompt="x", model_name="kling-v9-future",',
            "    poll_interval=0.2)",
        )
    )
    assert result.state == "success" and re.match(r"^http://127\.0\.0\.1:\d+/media/", result.xcom("gen")[0])
    assert emulator.stats()["creates"] == 1
