"""Scenario 7: a ``kling`` connection made through the UI form in headless Chromium, then used by a DAG.

Debian's ``/usr/bin/chromium`` driven by Playwright (no browser download). The form must offer our labels;
what it saves (``extra`` key names included) must be what ``KlingHook`` reads: a task reports the parsed
settings, and a generation authenticates with the form's access key / secret key against the emulator.
Screenshots of the filled form are kept in ``artifacts/e2e/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.helpers import FORM_ACCESS_KEY, FORM_SECRET_KEY, media_urls, record, run_id

CHROMIUM = Path("/usr/bin/chromium")
CONN_ID = "kling_form"
DAG_ID = "e2e_form_connection"
TIMEOUT, MAX_RETRIES = 17.5, 7
LABELS = ("Base URL", "Access key (optional)", "API token / secret key")
EXTRA_LABELS = ("Timeout (seconds per request)", "Max retries")


def fill_connection_form(ui_url: str, base_url: str, artifacts: Path) -> list[str]:
    """Create the connection through the form; returns the screenshots taken."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright is not installed")
    shots = [artifacts / "connection-form-standard.png", artifacts / "connection-form-extra.png"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{ui_url}/connections", wait_until="networkidle")
            page.get_by_role("button", name="Add Connection").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_label("Connection ID").fill(CONN_ID)
            dialog.get_by_role("combobox", name="Connection Type").fill("Kling AI")
            page.get_by_role("option", name="Kling AI", exact=True).click()
            for label in LABELS:
                sync_api.expect(dialog.get_by_label(label, exact=True)).to_be_visible()
            for hidden in ("Port", "Schema"):
                assert dialog.get_by_label(hidden, exact=True).count() == 0, f"{hidden} should be hidden"
            dialog.get_by_label("Base URL", exact=True).fill(base_url)
            dialog.get_by_label("Access key (optional)", exact=True).fill(FORM_ACCESS_KEY)
            dialog.get_by_label("API token / secret key", exact=True).fill(FORM_SECRET_KEY)
            page.screenshot(path=shots[0])
            dialog.get_by_role("button", name="Extra Fields", exact=True).click()
            dialog.get_by_label(EXTRA_LABELS[0], exact=True).fill(str(TIMEOUT))
            dialog.get_by_label(EXTRA_LABELS[1], exact=True).fill(str(MAX_RETRIES))
            page.screenshot(path=shots[1])
            dialog.get_by_role("button", name="Save").click()
            sync_api.expect(page.get_by_role("dialog")).to_have_count(0)
            sync_api.expect(page.get_by_text(CONN_ID, exact=True)).to_be_visible()
            page.screenshot(path=artifacts / "connection-list.png")
        finally:
            browser.close()
    return [shot.name for shot in shots]


@pytest.mark.timeout(240)
def test_connection_made_in_the_ui_form_is_what_the_hook_reads(e2e: E2E) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium package (make e2e-deps)")
    api, kling = e2e.api, e2e.kling
    kling.reset(task_duration=2)
    api.request("DELETE", f"/connections/{CONN_ID}")  # from an earlier run against the same DB, if any
    base_url = f"{kling.url}/kling"  # a gateway-style prefix, kept as typed
    shots = fill_connection_form(e2e.airflow.url, base_url, e2e.artifacts)

    saved = api.get(f"/connections/{CONN_ID}")
    assert saved["conn_type"] == "kling" and saved["host"] == base_url and saved["login"] == FORM_ACCESS_KEY
    assert saved["password"] == "***"  # stored, and redacted by the API
    extra = json.loads(saved["extra"])
    # Form fields left empty (the optional CA bundle) may be saved as null or "": the hook ignores those.
    names = {key.removeprefix("extra__kling__"): v for key, v in extra.items() if v not in (None, "")}
    assert names == {"timeout": TIMEOUT, "max_retries": MAX_RETRIES}, extra

    run = run_id("form")
    api.trigger(DAG_ID, run)
    assert api.wait_for_run(DAG_ID, run, timeout=120) == "success"
    settings = api.xcom(DAG_ID, run, "form_settings")
    assert settings == {
        "base_url": base_url,
        "timeout": TIMEOUT,
        "max_retries": MAX_RETRIES,
        "uses_jwt": True,
    }
    kling_task_id = api.xcom(DAG_ID, run, "generate", "kling_task_id")
    assert api.xcom(DAG_ID, run, "generate") == media_urls(kling.url, kling_task_id)
    stats = kling.stats()
    assert stats["creates"] == 1
    assert "1000" not in stats["answers_by_code"] and "1002" not in stats["answers_by_code"]
    # The shared deployment may still be finishing other scenarios' waits on kling_default (no prefix):
    # judge only this task's requests, which must all have used the form's gateway prefix.
    log = stats["request_log"]
    polls = [entry for entry in log if entry["path"].endswith("/" + kling_task_id)]
    creates = [entry for entry in log if entry["method"] == "POST" and entry["path"].startswith("/kling/")]
    assert polls and all(entry["path"].startswith("/kling/v1/") for entry in polls), log
    assert len(creates) == 1, log
    record(
        "7_connection_form",
        browser=f"{CHROMIUM} via Playwright",
        extra_saved_by_form=extra,
        hook_settings=settings,
        kling_creates=stats["creates"],
        screenshots=shots,
    )
