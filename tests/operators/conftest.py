"""Fixtures of the operator tests: a recording proxy in front of the emulator and a callback receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from airflow_provider_kling.testing import EmulatorServer
from tests.operators.helpers import RequestRecorder


@pytest.fixture
def recorder(emulator: EmulatorServer, kling_conn: Callable[..., str]) -> Iterator[RequestRecorder]:
    """``kling_default`` points at a loopback proxy that records each request and forwards it to Kling."""
    with RequestRecorder(upstream=emulator.url) as proxy:
        kling_conn(host=proxy.url)
        yield proxy


@pytest.fixture
def callback_server() -> Iterator[RequestRecorder]:
    """A loopback server that records the callbacks Kling POSTs to it."""
    with RequestRecorder() as server:
        yield server
