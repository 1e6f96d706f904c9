"""An emulator per test, with short task durations, and a client of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_kling.testing import EmulatorConfig, EmulatorServer
from tests.emulator.client import Api


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(submitted_seconds=0.1, task_duration=0.3, callback_interval=0.02)
    with EmulatorServer(config) as srv:
        yield srv


@pytest.fixture
def api(server: EmulatorServer) -> Api:
    return Api(server)
