"""A local emulator of Kling's HTTP API, for tests, demos and benchmarks without a Kling account.

Quick start::

    from airflow_provider_kling.testing import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(task_duration=0.5)) as server:
        ...  # point a connection at server.url (or server.url + "/kling"), token "sk-emulator-token"

The default accepted Bearer token is ``sk-emulator-token``. Command line: ``kling-emulator --help``.
It serves every task type of Kling's 2026 API (``validation.FIELDS`` lists the request fields it knows),
the two-step session flows, ``GET /account/costs``, real media files and (optionally signed) callbacks;
every setting is a field of ``EmulatorConfig`` (``config.py``), tunable at run time through
``POST /emulator/config``.
"""

from airflow_provider_kling.testing.config import DEFAULT_TOKEN, EmulatorConfig
from airflow_provider_kling.testing.emulator import KlingEmulator
from airflow_provider_kling.testing.server import EmulatorServer

__all__ = ["DEFAULT_TOKEN", "EmulatorConfig", "EmulatorServer", "KlingEmulator"]
