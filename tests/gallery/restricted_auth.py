"""An auth manager for the gallery tests: Airflow's SimpleAuthManager, except that DAGs listed in
``KLING_TEST_HIDDEN_DAGS`` (comma-separated) are unreadable for every user but admins.

Production auth managers (FAB, Keycloak, ...) grant DAGs one by one; SimpleAuthManager cannot, so this is the
smallest real auth manager with a user who may read some DAGs and not others. The e2e gallery test runs a
real api-server with it (``[core] auth_manager = tests.gallery.restricted_auth.RestrictedAuthManager``).
"""

from __future__ import annotations

import os
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

HIDDEN_DAGS_ENV = "KLING_TEST_HIDDEN_DAGS"


def hidden_dags() -> set[str]:
    return {dag_id.strip() for dag_id in os.environ.get(HIDDEN_DAGS_ENV, "").split(",") if dag_id.strip()}


class RestrictedAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, user: SimpleAuthManagerUser, details: Any = None, **kwargs: Any) -> bool:
        dag_id = getattr(details, "id", None)
        if dag_id in hidden_dags() and (user.role or "").upper() != "ADMIN":
            return False
        return super().is_authorized_dag(user=user, details=details, **kwargs)
