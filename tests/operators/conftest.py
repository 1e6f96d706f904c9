"""Fixtures of the operator tests: a callback receiver (the recording proxy is in the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.operators.helpers import RequestRecorder


@pytest.fixture
def callback_server() -> Iterator[RequestRecorder]:
    """A loopback server that records the callbacks Kling POSTs to it."""
    with RequestRecorder() as server:
        yield server
