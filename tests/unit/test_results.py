"""What a finished task reports beyond its URLs: units charged and generation time, read tolerantly."""

from __future__ import annotations

import pytest

from airflow_provider_kling.results import charged_units, generation_seconds


@pytest.mark.parametrize(
    ("value", "units"),
    [("5", 5.0), ("0.25", 0.25), (3, 3.0), (1.5, 1.5), ("0", 0.0), ("", None), ("n/a", None), (None, None)],
)
def test_final_unit_deduction_is_read_as_a_float(value, units):
    task = {} if value is None else {"final_unit_deduction": value}
    assert charged_units(task) == units


@pytest.mark.parametrize("value", [True, [], {}, "nan", "inf", "-1"])
def test_odd_deductions_are_unknown_not_errors(value):
    assert charged_units({"final_unit_deduction": value}) is None


def test_generation_time_is_updated_minus_created_in_seconds():
    assert generation_seconds({"created_at": 1722769557708, "updated_at": 1722769612208}) == 54.5
    assert generation_seconds({"created_at": 1722769557708}) is None
    assert generation_seconds({"created_at": "1722769557708", "updated_at": 1}) is None
    assert generation_seconds({"created_at": 5000, "updated_at": 1000}) == 0.0
    assert generation_seconds([]) is None
