"""The gallery plugin as Airflow finds it: through the ``airflow.plugins`` entry point, lazily, and inert on
Airflow before 3.1 (no UI plugins there)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from airflow_provider_kling.plugins.gallery import KlingGalleryPlugin

PROBE = """
import json, sys
from airflow_provider_kling.plugins.gallery import KlingGalleryPlugin
plugin = KlingGalleryPlugin()
loaded = lambda: "airflow_provider_kling.gallery.app" in sys.modules or "fastapi" in sys.modules
steps = {"instance": loaded(), "views": (len(plugin.external_views), loaded())}
steps["apps"] = (len(plugin.fastapi_apps), loaded())
print(json.dumps(steps))
"""


def test_the_entry_point_names_the_plugin() -> None:
    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "kling_gallery"]
    assert entry.load() is KlingGalleryPlugin and KlingGalleryPlugin.name == "kling_gallery"


def test_the_app_is_built_only_when_the_api_server_asks_for_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    steps = json.loads(done.stdout.strip().splitlines()[-1])
    # Schedulers, triggerers and workers load plugins too: none of them imports FastAPI or the gallery.
    assert steps["instance"] is False
    if AIRFLOW_V_3_1_PLUS:
        assert steps == {"instance": False, "views": [3, False], "apps": [1, True]}
    else:
        assert steps == {"instance": False, "views": [0, False], "apps": [0, False]}


def test_the_views_and_the_app_where_airflow_has_ui_plugins() -> None:
    plugin = KlingGalleryPlugin()
    if not AIRFLOW_V_3_1_PLUS:
        assert plugin.fastapi_apps == [] and plugin.external_views == []
        return
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES

    (app,) = plugin.fastapi_apps
    assert app["url_prefix"] == "/kling" and not any(
        app["url_prefix"].startswith(p) for p in RESERVED_URL_PREFIXES
    )
    assert plugin.fastapi_apps[0]["app"] is app["app"]  # built once
    views = {view["destination"]: view for view in plugin.external_views}
    assert set(views) == {"nav", "dag", "dag_run"}
    assert len({view["url_route"] for view in views.values()}) == 3
    assert views["dag"]["href"] == "/kling/?dag_id={DAG_ID}"
