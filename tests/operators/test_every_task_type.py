"""Every task type end to end through its typed operator under ``dag.test()``: created, waited for in the
triggerer, its URLs in XCom in the order videos, images, audios, and downloaded as real media files."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_kling.spec import TASK_TYPES

MAGIC = {".mp4": b"ftyp", ".png": b"\x89PNG", ".mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3"), ".wav": b"RIFF"}
KIND_EXTENSION = {"videos": ".mp4", "images": ".png", "audios": ".mp3"}


def task_id(task_type: str) -> str:
    return "video" if task_type == "text2video" else task_type.replace("/", "_").replace("-", "_")


def looks_like(path: Path) -> bool:
    head = path.read_bytes()[:16]
    expected = MAGIC[path.suffix]
    return head[4:8] == expected if path.suffix == ".mp4" else head.startswith(expected)


def test_every_task_type_runs_and_its_results_download(emulator, kling_conn, run_dag_file, tmp_path):
    result = run_dag_file("kling_every_task_type", run_conf={"media_dir": str(tmp_path)})
    failed = sorted(key for key, ti in result.tis.items() if str(ti.state) != "success")
    assert failed == []
    stats = emulator.stats()
    assert stats["creates"] == len(TASK_TYPES)
    for name, spec in TASK_TYPES.items():
        # What Kling charged, as the emulator booked it, is what the task reports in XCom kling_units.
        units = result.xcom(task_id(name), key="kling_units")
        assert units == pytest.approx(stats["units_charged_by_type"][name]) and units > 0, name
        urls = result.xcom(task_id(name))
        suffixes = [Path(url).suffix for url in urls]
        expected = [KIND_EXTENSION[kind] for kind in spec.results]
        # Each kind the type returns is there, in the order videos, images, audios.
        assert sorted(set(suffixes), key=suffixes.index) == expected, (name, urls)
        files = result.xcom(f"download_{task_id(name)}")
        assert [f["url"] for f in files] == urls
        for file in files:
            path = Path(file["path"])
            folder = "text2video" if name == "text2video" else task_id(name)
            assert path.parent == tmp_path / folder and path.stat().st_size == file["bytes"] > 0
            assert looks_like(path), (name, path)
