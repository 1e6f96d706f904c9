"""The "Kling result" extra link: the first result URL of a finished generation."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom


class KlingResultLink(BaseOperatorLink):
    """Opens the first result URL; empty until the generation succeeded (or when not waiting for it)."""

    name = "Kling result"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        urls = XCom.get_value(ti_key=ti_key, key="return_value")
        if isinstance(urls, list) and urls and isinstance(urls[0], str):
            return urls[0]
        return ""
