"""The Kling gallery plugin (entry point group ``airflow.plugins``): a "Kling" page in the Airflow UI.

On Airflow 3.1 and later the API server mounts the gallery app under ``/kling`` and the UI shows it in its
navigation, and as a tab of each DAG and DAG run. On older Airflow (2.11) the plugin contributes nothing.

Every Airflow process loads plugins, but only the API server reads ``fastapi_apps``: the app (FastAPI,
SQLAlchemy queries, templates) is built on that first read, so schedulers and workers never import it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

URL_PREFIX = "/kling"
ICON = f"{URL_PREFIX}/static/kling.svg"


class KlingGalleryPlugin(AirflowPlugin):
    """Recent Kling generations with their media, filtered by what the user may read."""

    name = "kling_gallery"

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        if not AIRFLOW_V_3_1_PLUS:
            return []
        from airflow_provider_kling.gallery.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Kling gallery"}]

    @cached_property
    def external_views(self) -> list[dict[str, Any]]:  # type: ignore[override]
        if not AIRFLOW_V_3_1_PLUS:
            return []
        # {DAG_ID} and {RUN_ID} are filled in by the UI where the view is a tab of a DAG or a DAG run.
        return [
            {
                "name": "Kling",
                "href": f"{URL_PREFIX}/",
                "url_route": "kling",
                "destination": "nav",
                "nav_top_level": True,
                "icon": ICON,
            },
            {
                "name": "Kling",
                "href": f"{URL_PREFIX}/?dag_id={{DAG_ID}}",
                "url_route": "kling-dag",
                "destination": "dag",
                "icon": ICON,
            },
            {
                "name": "Kling",
                "href": f"{URL_PREFIX}/?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
                "url_route": "kling-run",
                "destination": "dag_run",
                "icon": ICON,
            },
        ]
