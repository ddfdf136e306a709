"""The Blender VSE add-on: real Blender (bpy 5.0.1 as a module, in its own venv) runs the extension
installed from its zip; renders are compared with the engine's own output."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BLENDER_PYTHON = REPO / ".venv-blender" / "bin" / "python"
# jobs.py and strips.py import no bpy: load them on their own, without the package's __init__.
sys.path.insert(0, str(REPO / "plugins" / "blender" / "facepaint_vse"))

import jobs  # noqa: E402
import strips  # noqa: E402

from conftest import shared_path  # noqa: E402


def decode(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def blender_run(tmp_path_factory):
    if not BLENDER_PYTHON.exists():
        pytest.skip("the Blender venv is missing: `make test` creates .venv-blender (bpy==5.0.1)")
    sys.path.insert(0, str(REPO / "plugins" / "blender"))
    from build_extension import build

    work = tmp_path_factory.mktemp("blender")
    clip = work / "interview.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(shared_path("video", "driving", "d3.mp4")), "-t", "2",
                    "-vf", "scale=320:320", "-c:v", "libx264", "-c:a", "aac", str(clip)], check=True)
    report = work / "report.json"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(work / "blender-user"))
    run = subprocess.run([str(BLENDER_PYTHON), str(REPO / "tests" / "blender_vse_script.py"), str(build(work / "dist")),
                          str(Path(sys.executable).parent / "facepaint"), str(clip), str(work / "out"), str(report),
                          "--modes", "anonymize,paint,animate", "--sound",
                          "--portrait", str(shared_path("images", "paintings", "mona_lisa.jpg"))],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(report.read_text()), clip, work


def test_result_strip_sits_one_channel_up_over_the_visible_range(blender_run):
    report, _, _ = blender_run
    source = report["source"]
    for mode in ("anonymize", "paint", "animate"):
        entry = report["modes"][mode]
        assert entry["operator"] == ["FINISHED"]
        assert entry["results"] == 1  # re-running replaced the first result
        assert entry["channel"] == source["channel"] + 1
        assert (entry["frame_final_start"], entry["frame_final_end"]) == (source["frame_final_start"],
                                                                          source["frame_final_end"])
    assert report["sound"] == {"channel": 3, "frame_start": 11.0, "frame_final_start": 11}  # audio untouched


def test_renders_are_the_engines_output_at_the_right_frames(blender_run, tmp_path):
    report, clip, _ = blender_run
    source = report["source"]
    first = int(source["frame_final_start"] - source["frame_start"])
    count = int(source["frame_final_end"] - source["frame_final_start"])
    # The same range through the command line gives the same frames as the add-on's intermediate.
    direct = tmp_path / "direct.mkv"
    subprocess.run([sys.executable, "-m", "facepaint", "anonymize", str(clip), str(direct), "--frames",
                    f"{first}:{count}", "--lossless", "-q"], check=True)
    intermediate = decode(report["modes"]["anonymize"]["filepath"])
    assert len(intermediate) == count
    assert all((a == b).all() for a, b in zip(intermediate, decode(direct)))
    from facepaint.media import read_image

    originals = decode(clip)
    for frame, png in report["modes"]["anonymize"]["renders"].items():
        rendered = read_image(png)
        expected = intermediate[int(frame) - int(source["frame_final_start"])]
        assert np.abs(rendered.astype(int) - expected).mean() < 1.0  # Standard view: the clip as it is
        original = originals[int(frame) - int(source["frame_start"])]
        assert np.abs(rendered.astype(int) - original).mean() > 1.0  # not the source strip showing through


def test_faces_in_the_rendered_strip_are_anonymized(blender_run):
    from facepaint.identity import Recognizer
    from facepaint.media import read_image

    report, clip, _ = blender_run
    source = report["source"]
    recognizer = Recognizer()
    originals = decode(clip)
    for frame, png in report["modes"]["anonymize"]["renders"].items():
        rendered = read_image(png)
        original = originals[int(frame) - int(source["frame_start"])]
        boxes = recognizer.detect(original)
        assert boxes
        distance = np.linalg.norm(recognizer.descriptor(original, boxes[0]) - recognizer.descriptor(rendered, boxes[0]))
        assert distance > 0.6, f"timeline frame {frame}: the person can be re-identified ({distance:.2f})"


def test_strip_api_names_of_blender_4_2_and_5_0():
    strip = SimpleNamespace(name="s", frame_start=10.0, frame_final_start=14, frame_final_end=40)
    old = SimpleNamespace(sequences=["a"], sequences_all=["a", "b"])  # 4.2 LTS
    new = SimpleNamespace(strips=["c"], strips_all=["c", "d"])  # 4.4 and later, 5.0
    assert strips.strip_collection(old) == ["a"] and strips.all_strips(old) == ["a", "b"]
    assert strips.strip_collection(new) == ["c"] and strips.all_strips(new) == ["c", "d"]
    assert strips.visible_source_range(strip) == (4, 26)


def test_engine_command_for_each_mode(tmp_path):
    spec = jobs.JobSpec("paint", "in.mp4", 4, 26, "out.mkv", {"style": "the-scream", "region": "face",
                                                                 "keep": ["me.jpg"]})
    assert jobs.build_command("facepaint", spec) == [
        "facepaint", "paint", "in.mp4", "out.mkv", "--style", "the-scream", "--region", "face",
        "--keep", "me.jpg", "--frames", "4:26", "--lossless"]
    spec = jobs.JobSpec("animate", "drive.mp4", 0, 10, "o.mkv", {"portrait": "mona.jpg"})
    assert jobs.build_command("fp", spec)[:5] == ["fp", "animate", "mona.jpg", "drive.mp4", "o.mkv"]
    assert jobs.intermediate_folder(str(tmp_path / "edit.blend"), "") == (tmp_path / "facepaint", True)
    assert jobs.intermediate_name("Interview 1/take", "paint") == "Interview_1_take.paint.mkv"


def test_cancel_stops_the_engine_and_leaves_no_file(tmp_path, astronaut):
    from conftest import pan_frames, write_video

    clip = tmp_path / "long.mp4"
    write_video(clip, pan_frames(astronaut, 120, step=1))
    out = tmp_path / "out.mkv"
    runner = jobs.JobRunner(jobs.build_command(str(Path(sys.executable).parent / "facepaint"),
                                               jobs.JobSpec("anonymize", str(clip), 0, 120, str(out)))).start()
    deadline = time.monotonic() + 120
    while runner.progress == 0 and runner.state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    runner.cancel()
    assert runner.wait(60) == "cancelled"
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))


def test_add_on_type_checks_against_bpy_stubs():
    run = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--check-untyped-defs",
                          "facepaint_vse"], cwd=REPO / "plugins" / "blender", capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
