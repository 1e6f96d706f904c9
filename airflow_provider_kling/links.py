"""The "Kling result" extra link: the first result URL of a finished generation."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_kling.results import is_web_url


class KlingResultLink(BaseOperatorLink):
    """Opens the first result URL; empty until the generation succeeded (or when not waiting for it), and for
    anything but an http(s) URL (a ``javascript:`` link must never reach the UI)."""

    name = "Kling result"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        urls = XCom.get_value(ti_key=ti_key, key="return_value")
        if isinstance(urls, list) and urls and is_web_url(urls[0]):
            return str(urls[0])
        return ""
