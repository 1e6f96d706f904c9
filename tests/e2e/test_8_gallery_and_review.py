"""Scenario 8: the Kling gallery in the Airflow UI and the human review example, in Debian's Chromium.

A second, real ``airflow api-server`` on the same metadata DB runs with logins (SimpleAuthManager without
all-admins, and ``RestrictedAuthManager``): ``reviewer`` may read every DAG, ``outsider`` not
``e2e_gallery_private``. In the browser, logged in through Airflow's own login page:

- the gallery (the UI's "Kling" page) lists the finished generations: every video on the page plays
  (``readyState >= 2``, ``videoWidth > 0``), every image loads (``naturalWidth > 0``); the DAG filter narrows
  it to one DAG, whose kept video plays from the stored file;
- two runs of ``example_kling_review_and_publish`` wait for a person: in the UI's Required Actions the
  reviewer picks "Variant 2" in one and "Reject all" in the other. Exactly variant 2's video is published
  (the manifest names the reviewer); the other run publishes nothing;
- the outsider sees none of ``e2e_gallery_private``'s generations and asking for that DAG is refused; a
  request without a session gets 401 and no generation.

Screenshots: ``artifacts/e2e/gallery-*.png``.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import E2E
from tests.e2e.deployment import LOOPBACK, ROOT, Process, free_port, wait_for
from tests.e2e.helpers import record, run_id

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REVIEW_DAG = "example_kling_review_and_publish"
MEDIA_DAG, PRIVATE_DAG = "e2e_gallery_media", "e2e_gallery_private"
#: user -> (SimpleAuthManager role, password)
USERS = {"reviewer": ("admin", "reviewer-e2e-password-5b1d9c"), "outsider": ("viewer", "outsider-e2e-8c2e4a")}

#: Plays every video and waits for every image of the cards of the given DAG runs (older runs' Kling URLs may
#: be gone: the emulator forgets tasks on reset, as Kling deletes results after 30 days); what each reached.
CHECK_MEDIA = """async (runs) => {
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  const cards = [...document.querySelectorAll("article")].filter((card) => runs.includes(card.dataset.runId));
  const all = (selector) => cards.flatMap((card) => [...card.querySelectorAll(selector)]);
  const report = {videos: [], images: [], audios: all("audio").length, cards: cards.length};
  for (const video of all("video")) {
    video.scrollIntoView();
    video.muted = true;
    let error = null;
    try { await video.play(); } catch (e) { error = String(e); }
    for (let i = 0; i < 150 && video.readyState < 2; i++) await pause(100);
    report.videos.push({src: video.currentSrc, readyState: video.readyState, width: video.videoWidth,
                        error: error || (video.error && video.error.code)});
  }
  for (const image of all("img")) {
    image.scrollIntoView();
    for (let i = 0; i < 150 && !(image.complete && image.naturalWidth > 0); i++) await pause(100);
    report.images.push({src: image.currentSrc, width: image.naturalWidth});
  }
  window.scrollTo(0, 0);
  return report;
}"""
CARDS = """() => [...document.querySelectorAll("article")].map((card) => ({
  dag_id: card.dataset.dagId, task_id: card.dataset.taskId, map_index: Number(card.dataset.mapIndex),
  srcs: [...card.querySelectorAll("video, img, audio")].map((media) => media.getAttribute("src")),
  kept: card.querySelector(".kept") !== null,
}))"""
STATUS_OF = "async (url) => (await fetch(url)).status"


@contextmanager
def restricted_api_server(e2e: E2E) -> Iterator[str]:
    """Another api-server of the same deployment, with logins and per-DAG read access."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    passwords = e2e.artifacts / "gallery-passwords.json"
    passwords.write_text(json.dumps({user: password for user, (_, password) in USERS.items()}))
    env = {
        **e2e.airflow.env,
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.gallery.restricted_auth.RestrictedAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{role}" for u, (role, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__KLING__GALLERY_MEDIA_ROOTS": e2e.airflow.env["KLING_MEDIA_DIR"],
        "KLING_TEST_HIDDEN_DAGS": PRIVATE_DAG,
        "PYTHONPATH": str(ROOT),
    }
    argv = [sys.executable, "-m", "airflow", "api-server", "--host", LOOPBACK, "--port", str(port)]
    server = Process("api-server-restricted", argv, env, e2e.airflow.log_dir, e2e.airflow.home).start()

    def up() -> bool:
        try:
            return requests.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for("the restricted api-server", up, 180, 0.5, server.tail)
        yield url
    finally:
        server.stop()


def login(browser: Any, ui: str, user: str) -> Any:
    """A page logged in as ``user`` through Airflow's login page, showing the UI's Kling page."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{ui}/plugin/kling", wait_until="networkidle")  # no session yet: Airflow's login page
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(USERS[user][1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url and "/plugin/kling" in url)
    return page


def gallery_frame(page: Any) -> Any:
    """The gallery inside the UI's plugin frame, once loaded (Playwright's waits pump its events)."""
    page.frame_locator("iframe").locator("h1", has_text="Kling generations").wait_for()
    return page.locator("iframe").element_handle().content_frame()


def assert_media_plays(report: dict[str, Any]) -> None:
    bad = [v for v in report["videos"] if v["readyState"] < 2 or v["width"] <= 0 or v["error"]]
    assert not bad, f"videos that do not play: {bad}"
    assert all(image["width"] > 0 for image in report["images"]), report["images"]


def answer_review(page: Any, ui: str, run: str, option: str, shot: Path | None = None) -> None:
    page.goto(f"{ui}/dags/{REVIEW_DAG}/runs/{run}/tasks/review/required_actions", wait_until="networkidle")
    button = page.get_by_role("button", name=option, exact=True)
    button.wait_for()
    if shot is not None:
        page.screenshot(path=shot)
    button.click()


@pytest.mark.timeout(480)
def test_gallery_and_human_review_in_the_browser(e2e: E2E) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium package (make e2e-deps)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright is not installed")
    api, shots = e2e.api, e2e.artifacts
    e2e.kling.reset()
    started = time.monotonic()
    runs = {
        MEDIA_DAG: run_id("gallery"),
        PRIVATE_DAG: run_id("private"),
        "choose": run_id("review-choose"),
        "reject": run_id("review-reject"),
    }
    mine = list(runs.values())
    # The second api-server starts first: its start-up and the runs' first writes would otherwise contend for
    # the SQLite metadata DB at once.
    with restricted_api_server(e2e) as ui, sync_api.sync_playwright() as playwright:
        api.trigger(REVIEW_DAG, runs["choose"])
        api.trigger(REVIEW_DAG, runs["reject"])
        api.trigger(MEDIA_DAG, runs[MEDIA_DAG])
        api.trigger(PRIVATE_DAG, runs[PRIVATE_DAG])
        for dag_id in (MEDIA_DAG, PRIVATE_DAG):
            assert api.wait_for_run(dag_id, runs[dag_id], timeout=240) == "success"
        for key in ("choose", "reject"):
            wait_for(
                f"the review of {runs[key]} to wait for a person",
                lambda key=key: api.states(REVIEW_DAG, runs[key]).get(("review", -1)) == "awaiting_input",
                240,
                1.0,
            )
        anonymous = requests.get(f"{ui}/kling/api/generations", timeout=30)
        assert anonymous.status_code == 401 and "E2E gallery" not in anonymous.text
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            reviewer = login(browser, ui, "reviewer")
            frame = gallery_frame(reviewer)
            everything = frame.evaluate(CHECK_MEDIA, mine)
            reviewer.screenshot(path=shots / "gallery-all.png")
            assert_media_plays(everything)
            listed = frame.evaluate(CARDS)
            assert {MEDIA_DAG, PRIVATE_DAG, REVIEW_DAG} <= {card["dag_id"] for card in listed}
            # This test's runs: 1 + 3 + 3 videos, 2 + 1 images, 1 audio track (the media DAG's speech).
            assert (len(everything["videos"]), len(everything["images"]), everything["audios"]) == (7, 3, 1)

            # Filtering by DAG, through the form.
            frame.select_option("select[name=dag_id]", MEDIA_DAG)
            frame.get_by_role("button", name="Apply").click()
            frame.wait_for_url(re.compile(f"dag_id={MEDIA_DAG}"))
            frame.wait_for_selector("h1")
            filtered = frame.evaluate(CARDS)
            assert sorted(card["task_id"] for card in filtered) == ["images", "speech", "video"]
            assert {card["dag_id"] for card in filtered} == {MEDIA_DAG}
            (video,) = [card for card in filtered if card["task_id"] == "video"]
            assert video["kept"] and video["srcs"][0].startswith("/kling/files?")  # the stored copy
            kept_media = frame.evaluate(CHECK_MEDIA, mine)
            reviewer.screenshot(path=shots / "gallery-filtered-by-dag.png")
            assert_media_plays(kept_media)
            assert len(kept_media["videos"]) == 1 and len(kept_media["images"]) == 2
            assert kept_media["audios"] == 1
            assert frame.evaluate(STATUS_OF, f"/kling/api/generations?dag_id={PRIVATE_DAG}") == 200

            # The three variants side by side, in the DAG run's Kling tab.
            reviewer.goto(f"{ui}/dags/{REVIEW_DAG}/runs/{runs['choose']}/plugin/kling-run")
            variants = gallery_frame(reviewer)
            variant_media = variants.evaluate(CHECK_MEDIA, mine)
            reviewer.screenshot(path=shots / "gallery-review-variants.png")
            assert_media_plays(variant_media)
            assert [(c["task_id"], c["map_index"]) for c in variants.evaluate(CARDS)] == [
                ("generate", 0),
                ("generate", 1),
                ("generate", 2),
            ]

            # The human answers through the UI's Required Actions.
            answer_review(
                reviewer, ui, runs["choose"], "Variant 2", shots / "gallery-review-required-action.png"
            )
            answer_review(reviewer, ui, runs["reject"], "Reject all")
            answered = time.monotonic()
            for key in ("choose", "reject"):
                assert api.wait_for_run(REVIEW_DAG, runs[key], timeout=180) == "success"

            reviewer.goto(f"{ui}/dags/{REVIEW_DAG}/runs/{runs['choose']}/plugin/kling-run")
            published = gallery_frame(reviewer)
            published_cards = published.evaluate(CARDS)
            published_media = published.evaluate(CHECK_MEDIA, mine)
            reviewer.screenshot(path=shots / "gallery-review-published.png")
            assert_media_plays(published_media)
            assert [card["kept"] for card in published_cards] == [False, True, False]
            assert published_cards[1]["srcs"][0].startswith("/kling/files?")

            # A user who may not read a DAG does not see its generations.
            outsider = login(browser, ui, "outsider")
            outside = gallery_frame(outsider)
            outsider.screenshot(path=shots / "gallery-outsider.png")
            options = outside.eval_on_selector_all(
                "select[name=dag_id] option", "els => els.map(e => e.value)"
            )
            assert MEDIA_DAG in options and PRIVATE_DAG not in options
            assert PRIVATE_DAG not in {card["dag_id"] for card in outside.evaluate(CARDS)}
            assert outside.evaluate(STATUS_OF, f"/kling/api/generations?dag_id={PRIVATE_DAG}") == 403
            everything_json = outside.evaluate(
                "async () => (await (await fetch('/kling/api/generations?page_size=100')).json())"
            )
            assert everything_json["total"] > 0
            assert PRIVATE_DAG not in {card["dag_id"] for card in everything_json["generations"]}
        finally:
            browser.close()

    # Variant 2 was published, and only it; "Reject all" published nothing.
    media = Path(e2e.airflow.env["KLING_MEDIA_DIR"]) / REVIEW_DAG
    manifest_path = Path(api.xcom(REVIEW_DAG, runs["choose"], "publish"))
    manifest = json.loads(manifest_path.read_text())
    variant_2 = api.xcom(REVIEW_DAG, runs["choose"], "generate", map_index=1)
    assert manifest["variant"] == "Variant 2" and manifest["reviewed_by"] == "reviewer"
    (file,) = manifest["files"]
    assert [file["url"]] == variant_2 and manifest_path.parent == media / runs["choose"]
    assert sorted(p.name for p in manifest_path.parent.iterdir()) == ["0.mp4", "manifest.json"]
    data = Path(file["path"]).read_bytes()
    assert data[4:8] == b"ftyp" and len(data) == file["bytes"]
    rejected = api.states(REVIEW_DAG, runs["reject"])
    assert rejected[("review", -1)] == "success"
    assert [rejected[(task, -1)] for task in ("chosen_urls", "download", "publish")] == ["skipped"] * 3
    assert not (media / runs["reject"]).exists()
    record(
        "8_gallery_review",
        browser=f"{CHROMIUM} via Playwright",
        videos_played_on_first_page=len(everything["videos"]),
        images_loaded_on_first_page=len(everything["images"]),
        published=file["url"],
        seconds_to_publish_after_answer=round(time.monotonic() - answered, 1),
        total_seconds=round(time.monotonic() - started, 1),
        screenshots=sorted(p.name for p in shots.glob("gallery-*.png")),
    )
