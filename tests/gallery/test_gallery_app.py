"""The gallery app as the API server mounts it: who sees what, what a card says, filters, the kept files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from tests.conftest import TOKEN
from tests.dags.kling_gallery import VIDEO_PROMPT
from tests.gallery.conftest import FAILED_DAG, FAILURE_REASON, PRIVATE_DAG, Gallery

OURS = {"kling_gallery", PRIVATE_DAG, FAILED_DAG}


def ours(cards: list[dict]) -> dict[tuple[str, str], dict]:
    """The cards of this module's DAG runs (the session's other tests leave generations too)."""
    return {(card["dag_id"], card["task_id"]): card for card in cards if card["dag_id"] in OURS}


def test_an_unauthenticated_request_gets_nothing(gallery: Gallery) -> None:
    for path in ("/", "/api/generations", "/files"):
        response = gallery.get(path, role=None, dag_id="kling_gallery")
        assert response.status_code == 401, (path, response.status_code)
        assert VIDEO_PROMPT not in response.text and "kling_gallery" not in response.text.split("next=")[0]
    page = gallery.get("/", role=None)
    assert "Log in to Airflow" in page.text and "/auth/login" in page.text  # a person is sent to the login
    forged = gallery.client.get("/kling/api/generations", headers={"Authorization": f"Bearer {TOKEN}"})
    assert forged.status_code == 403 and VIDEO_PROMPT not in forged.text


def test_the_plugin_is_mounted_and_in_the_ui_navigation(gallery: Gallery) -> None:
    plugins = gallery.client.get(
        "/api/v2/plugins", headers={"Authorization": f"Bearer {gallery.token('admin', 'admin')}"}
    ).json()["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "kling_gallery"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/kling"]
    views = {view["destination"]: view for view in plugin["external_views"]}
    assert views["nav"]["href"] == "/kling/" and views["nav"]["url_route"] == "kling"
    assert views["dag_run"]["href"] == "/kling/?dag_id={DAG_ID}&run_id={RUN_ID}"
    icon = gallery.client.get(views["nav"]["icon"])
    assert icon.status_code == 200 and icon.text.startswith("<svg")


def test_cards_show_the_media_the_request_and_what_it_cost(gallery: Gallery) -> None:
    cards = ours(gallery.cards())
    assert set(cards) == {
        ("kling_gallery", "video"),
        ("kling_gallery", "images"),
        ("kling_gallery", "speech"),
        ("kling_gallery", "generic"),
        (PRIVATE_DAG, "secret_images"),
        (FAILED_DAG, "rejected"),
    }
    run = gallery.runs["kling_gallery"]
    video = cards[("kling_gallery", "video")]
    kling_task = run.xcom("video", key="kling_task")
    assert video["kling_task_id"] == kling_task["task_id"] and video["status"] == "succeed"
    assert (video["prompt"], video["model"], video["task_type"]) == (VIDEO_PROMPT, "kling-v2-6", "text2video")
    assert video["units"] == float(kling_task["final_unit_deduction"]) and video["units"] > 0
    assert video["seconds"] == (kling_task["updated_at"] - kling_task["created_at"]) / 1000
    run_id = run.dag_run.run_id
    assert video["links"] == {
        "dag_run": f"/dags/kling_gallery/runs/{_quoted(run_id)}",
        "task": f"/dags/kling_gallery/runs/{_quoted(run_id)}/tasks/video",
    }
    (media,) = video["media"]
    (kept,) = run.xcom("keep")
    assert media["kind"] == "video" and media["url"] == kling_task["task_result"]["videos"][0]["url"]
    assert media["stored"] == {
        "path": kept["path"],
        "bytes": kept["bytes"],
        "sha256": kept["sha256"],
        "served": True,
    }
    assert media["src"].startswith("/kling/files?")

    images = cards[("kling_gallery", "images")]
    assert [m["kind"] for m in images["media"]] == ["image", "image"]
    assert all(m["src"] == m["url"] and m["stored"] is None for m in images["media"])  # not downloaded
    speech = cards[("kling_gallery", "speech")]
    assert speech["task_type"] == "tts" and speech["prompt"] == "Welcome to the paper boat race"
    assert [m["kind"] for m in speech["media"]] == ["audio"] and speech["media"][0]["url"].endswith(".mp3")
    generic = cards[("kling_gallery", "generic")]
    assert (generic["task_type"], generic["model"]) == ("text2video", "kling-v3")  # from the rendered fields


def test_a_failed_generation_shows_klings_reason(gallery: Gallery) -> None:
    (card,) = gallery.cards(status="failed", dag_id=FAILED_DAG)
    assert (card["status"], card["status_msg"], card["media"]) == ("failed", FAILURE_REASON, [])
    assert card["task_type"] == "text2video" and card["prompt"] == "A prompt Kling refuses"
    page = gallery.get("/", dag_id=FAILED_DAG).text
    assert f"Kling: {FAILURE_REASON}" in page and "status-failed" in page and "no result" in page


def _quoted(run_id: str) -> str:
    return quote(run_id, safe="")


def test_a_user_sees_only_the_dags_they_may_read(gallery: Gallery) -> None:
    assert set(ours(gallery.cards("viewer"))) == {
        *(("kling_gallery", t) for t in ("video", "images", "speech", "generic")),
        (FAILED_DAG, "rejected"),
    }
    page = gallery.get("/", "viewer")
    assert page.status_code == 200
    assert PRIVATE_DAG not in page.text and "The unreleased product" not in page.text
    assert PRIVATE_DAG in gallery.get("/", "admin").text
    # Asking for the DAG by name is refused outright, as Airflow's own XCom endpoint refuses it.
    assert gallery.get("/api/generations", "viewer", dag_id=PRIVATE_DAG).status_code == 403
    assert gallery.get("/", "viewer", dag_id=PRIVATE_DAG).status_code == 403


def test_filters(gallery: Gallery) -> None:
    def tasks(**params: str) -> set[tuple[str, str]]:
        return set(ours(gallery.cards(**params)))

    assert tasks(dag_id=PRIVATE_DAG) == {(PRIVATE_DAG, "secret_images")}
    assert tasks(task_type="generations") == {("kling_gallery", "images"), (PRIVATE_DAG, "secret_images")}
    assert tasks(task_type="text2video", dag_id="kling_gallery") == {
        ("kling_gallery", "video"),
        ("kling_gallery", "generic"),
    }
    assert tasks(task_type="tts", dag_id="kling_gallery") == {("kling_gallery", "speech")}
    assert len(tasks(status="succeed")) == 5 and tasks(status="failed") == {(FAILED_DAG, "rejected")}
    run_id = gallery.runs[PRIVATE_DAG].dag_run.run_id
    assert tasks(run_id=run_id) == {(PRIVATE_DAG, "secret_images")}
    assert tasks(since="2000-01-01T00:00") == tasks() and tasks(since="2999-01-01T00:00") == set()
    assert tasks(until="2000-01-01T00:00+00:00") == set()
    for bad in ({"status": "done"}, {"task_type": "text3video"}, {"since": "yesterday"}, {"page": "0"}):
        assert gallery.get("/api/generations", **bad).status_code == 422, bad


def test_the_page_plays_the_media_and_uses_the_ui_cookie(gallery: Gallery) -> None:
    token = gallery.token("viewer", "viewer")
    gallery.client.cookies.set("_token", token)  # how the Airflow UI (and its plugin frame) authenticates
    try:
        page = gallery.client.get("/kling/", params={"dag_id": "kling_gallery"})
    finally:
        gallery.client.cookies.clear()
    assert page.status_code == 200
    html = page.text
    assert html.count("<article") == 4 and html.count("<video") == 2 and html.count("<img") == 2
    assert html.count("<audio") == 1 and VIDEO_PROMPT in html
    assert 'src="/kling/files?' in html and 'href="static/gallery.css"' in html
    assert '<option value="kling_gallery" selected>' in html


def test_a_kept_file_is_served_only_from_the_media_roots(gallery: Gallery, tmp_path: Path) -> None:
    media = ours(gallery.cards(dag_id="kling_gallery"))[("kling_gallery", "video")]["media"][0]
    served = gallery.client.get(media["src"], headers=_admin(gallery))
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
    assert served.content == Path(media["stored"]["path"]).read_bytes()[: len(served.content)]
    assert len(served.content) == media["stored"]["bytes"]
    assert gallery.client.get(media["src"], headers=_viewer(gallery)).status_code == 200
    assert gallery.client.get(media["src"]).status_code == 401
    params = dict(parse_qsl(urlsplit(media["src"]).query))
    for wrong in ({"index": "1"}, {"task_id": "video"}, {"run_id": "another-run"}):  # video: not a download
        response = gallery.client.get("/kling/files", params={**params, **wrong}, headers=_admin(gallery))
        assert response.status_code == 404, wrong


def _admin(gallery: Gallery) -> dict[str, str]:
    return {"Authorization": f"Bearer {gallery.token('admin', 'admin')}"}


def _viewer(gallery: Gallery) -> dict[str, str]:
    return {"Authorization": f"Bearer {gallery.token('viewer', 'viewer')}"}


def test_only_regular_files_inside_the_media_roots_are_served(tmp_path: Path) -> None:
    from airflow_provider_kling.gallery.cards import StoredFile
    from airflow_provider_kling.gallery.store import local_copy, media_roots

    root = tmp_path / "media"
    root.mkdir()
    inside = root / "0.mp4"
    inside.write_bytes(b"x" * 10)
    secret = tmp_path / "airflow.cfg"
    secret.write_text("[core]")
    (root / "link.mp4").symlink_to(secret)

    def kept(path: object, size: int | None = None) -> StoredFile:
        return StoredFile(str(path), size, None, "keep", -1, 0)

    roots = media_roots(f" {root} ,, ")
    assert local_copy(kept(inside, 10), roots) == inside
    assert local_copy(kept(inside), roots) == inside
    refused = [
        kept(inside, 11),  # changed since the download
        kept(secret),
        kept(root / "link.mp4"),  # a link out of the root
        kept(root / ".." / "airflow.cfg"),
        kept("media/0.mp4"),  # relative
        kept(root),  # a directory
        kept("s3://bucket/0.mp4"),
    ]
    assert [local_copy(stored, roots) for stored in refused] == [None] * len(refused)
    assert local_copy(kept(inside, 10), media_roots("")) is None  # nothing configured: nothing served
