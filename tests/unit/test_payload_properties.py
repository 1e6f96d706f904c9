"""Property-based checks of the create-body validation: valid bodies pass intact, junk never crashes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_kling.checks import CAMERA_AXES
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.payloads import validate_payload
from airflow_provider_kling.spec import TASK_TYPES

prompts = st.text(min_size=1, max_size=2500).filter(str.strip)
optional = st.none() | st.just("")


@given(
    prompt=prompts,
    mode=optional | st.sampled_from(["std", "pro", "4k"]),
    aspect_ratio=optional | st.sampled_from(["16:9", "9:16", "1:1"]),
    duration=optional | st.integers(3, 15) | st.integers(3, 15).map(str),
    cfg_scale=optional | st.floats(0, 1),
    sound=optional | st.sampled_from(["on", "off"]),
    model_name=optional | st.text(min_size=1, max_size=40).filter(str.strip),
)
def test_valid_text2video_bodies_pass_with_only_the_set_fields(**fields):
    body, _warnings = validate_payload("text2video", fields)
    assert set(body) == {k for k, v in fields.items() if v not in (None, "")}
    if "duration" in body:
        assert body["duration"] == str(fields["duration"])
    assert body["prompt"] == fields["prompt"]


@given(model=st.text(min_size=1, max_size=40).filter(str.strip), duration=st.integers(16, 600))
def test_values_outside_the_known_sets_warn_and_are_sent(model, duration):
    body, warnings = validate_payload(
        "text2video", {"prompt": "p", "model_name": model, "duration": duration}
    )
    assert body["duration"] == str(duration)
    assert body["model_name"] == model
    assert any(w.startswith("duration=") for w in warnings)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@pytest.mark.parametrize("task_type", sorted(TASK_TYPES))
@given(data=st.data())
def test_junk_is_a_validation_error_never_a_crash(task_type, data):
    fields = [f.name for f in TASK_TYPES[task_type].all_fields]
    body = data.draw(st.dictionaries(st.sampled_from(fields), junk, max_size=len(fields)))
    try:
        validate_payload(task_type, body)
    except KlingValidationError as err:
        assert str(err)


@given(
    axis=st.sampled_from(CAMERA_AXES),
    value=st.floats(-10, 10).filter(lambda v: v != 0),
    others=st.dictionaries(st.sampled_from(CAMERA_AXES), st.just(0)),
)
def test_simple_camera_control_needs_exactly_one_non_zero_axis(axis, value, others):
    config = {**others, axis: value}
    body, _ = validate_payload(
        "text2video", {"prompt": "p", "camera_control": {"type": "simple", "config": config}}
    )
    assert body["camera_control"] == {"type": "simple", "config": config}
    second = next(a for a in CAMERA_AXES if a != axis)
    with pytest.raises(KlingValidationError, match="exactly one non-zero"):
        validate_payload(
            "text2video",
            {"prompt": "p", "camera_control": {"type": "simple", "config": {**config, second: value}}},
        )


@given(n=st.integers(-100, 100))
def test_image_count_range(n):
    if 1 <= n <= 9:
        assert validate_payload("generations", {"prompt": "p", "n": n})[0]["n"] == n
    else:
        with pytest.raises(KlingValidationError, match="n must be an integer from 1 to 9"):
            validate_payload("generations", {"prompt": "p", "n": n})
