"""The callback plugin's app served the way Airflow's API server serves it: mounted under its ``url_prefix``.

``python -m tests.callbacks.serve_plugin PORT`` serves it on 127.0.0.1:PORT in the Airflow environment the
process is given (the examples suite runs one beside ``airflow dags test`` of the sweep example, sharing its
metadata DB); ``tests/callbacks`` serves ``mounted_app()`` in a thread.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI


def mounted_app() -> FastAPI:
    """A root app with the plugin's ``fastapi_apps`` entry mounted as ``init_plugins`` mounts it."""
    from airflow_provider_kling.plugins.callbacks import KlingCallbackPlugin

    assert KlingCallbackPlugin is not None, "the callback plugin needs Airflow 3.1+"
    (entry,) = KlingCallbackPlugin.fastapi_apps
    root = FastAPI()
    root.mount(entry["url_prefix"], entry["app"])
    return root


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(mounted_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
