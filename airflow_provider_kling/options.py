"""The numeric arguments of operators and sensors, checked when the DAG file is parsed.

A ``nan`` timeout is a deadline that never fires and a ``1e-9`` poll interval is thousands of requests a
second; both are caught here, naming the argument, before any task runs. Numeric strings are accepted because
users pass numbers through templates and ``params``.
"""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_kling.checks import fail
from airflow_provider_kling.results import AudioFormat

#: The shortest interval between two polls of one task (tests against the emulator poll this fast).
MIN_INTERVAL = 0.1
#: The longest any wait, delay or timeout may be: 30 days, Kling's own retention of results.
MAX_SECONDS = 30 * 24 * 3600.0


def seconds(name: str, value: Any, *, minimum: float = 0.0, above: bool = False) -> float:
    """A finite number of seconds ``>= minimum`` (``> minimum`` with ``above``), at most 30 days."""
    bound = f"{'more than' if above else 'at least'} {minimum:g}"
    allowed = f"a number of seconds, {bound} and at most {MAX_SECONDS:g}"
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise fail(name, value, allowed) from None
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        raise fail(name, value, allowed)
    if number < minimum or (above and number == minimum) or number > MAX_SECONDS:
        raise fail(name, value, allowed)
    return float(number)


def optional_seconds(name: str, value: Any, *, minimum: float = 0.0) -> float | None:
    """Like ``seconds``; ``None`` means "the task type's default"."""
    return None if value is None else seconds(name, value, minimum=minimum)


def count(name: str, value: Any, *, minimum: int = 1, maximum: int = 1000) -> int:
    """A whole number in ``[minimum, maximum]`` (numeric strings accepted)."""
    allowed = f"a whole number from {minimum} to {maximum}"
    number: Any = value
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            raise fail(name, value, allowed) from None
    if isinstance(number, bool) or not isinstance(number, int) or not minimum <= number <= maximum:
        raise fail(name, value, allowed)
    return number


def flag(name: str, value: Any) -> bool:
    """``True`` or ``False``: a switch that is not templated, so anything else is a mistake in the DAG."""
    if not isinstance(value, bool):
        raise fail(name, value, "True or False")
    return value


def audio_format(value: Any) -> AudioFormat:
    """Which audio URL ``return_value`` lists: ``mp3`` (``url_mp3``) or ``wav`` (``url_wav``)."""
    if value not in ("mp3", "wav"):
        raise fail("audio_format", value, "mp3 or wav")
    return value
