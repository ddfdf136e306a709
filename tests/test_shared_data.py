"""The extended suite on ../shared/data: real group photos, real talking heads, real ffmpeg.

Skipped with a reason where ../shared/data is absent (a user's machine).
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from facepaint.detect import box_iou
from facepaint.engine import Engine
from facepaint.media import MediaReader, read_image
from facepaint.types import Frame
from conftest import shared_path

pytestmark = pytest.mark.shared_data


def labelled_boxes(groups):
    boxes = {}
    for xml in groups.glob("*_with_face_landmarks.xml"):
        for image in ET.parse(xml).getroot().iter("image"):
            boxes[image.get("file")] = [
                [int(b.get("left")), int(b.get("top")), int(b.get("left")) + int(b.get("width")),
                 int(b.get("top")) + int(b.get("height"))] for b in image.iter("box")]
    return boxes


def test_group_photos_every_labelled_face_found():
    groups = shared_path("images", "groups")
    found = total = extra = 0
    with Engine(device="cpu") as engine:
        for name, truth in labelled_boxes(groups).items():
            engine.reset()  # each photo is its own stream
            faces = engine.process(Frame(read_image(groups / name))).faces
            iou = box_iou(np.array(truth, np.float32), np.array([f.box for f in faces], np.float32).reshape(-1, 4))
            found += int((iou.max(axis=1) >= 0.3).sum()) if faces else 0
            total += len(truth)
            extra += int((iou.max(axis=0) < 0.3).sum()) if faces else 0
            assert all(f.landmarks is not None for f in faces), name
    assert found / total >= 0.95 and extra <= 1


def test_no_face_on_dogs():
    with Engine(device="cpu") as engine:
        assert engine.process(Frame(read_image(shared_path("images", "groups", "dogs.jpg")))).faces == []


def test_talking_head_is_one_steady_track():
    video = shared_path("video", "talking", "grid_bbaf2n.mpg")
    with Engine(device="cpu", detect_every=5) as engine, MediaReader(video) as reader:
        results = list(engine.run(reader.frames()))
    assert len(results) == 75
    assert {f.track_id for r in results for f in r.faces} == {1}
    assert all(r.faces[0].landmarks is not None and r.faces[0].detected for r in results)
    jaw = [r.faces[0].blendshapes["jawOpen"] for r in results]
    assert max(jaw) - min(jaw) > 0.2  # the mouth moves while he talks, and the blendshapes see it


def test_head_turns_keep_their_track():
    video = shared_path("video", "driving", "d12.mp4")  # turns left and right
    with Engine(device="cpu", detect_every=5) as engine, MediaReader(video) as reader:
        results = list(engine.run(reader.frames()))
    tracks = {f.track_id for r in results for f in r.faces}
    assert len(tracks) == 1 and all(len(r.faces) == 1 for r in results)
    yaws = [r.faces[0].pose.yaw for r in results if r.faces[0].pose]
    assert min(yaws) < -12 and max(yaws) > 12


def ffprobe(path, stream):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                          "packet=pts_time", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return sorted(float(p["pts_time"]) for p in json.loads(out.stdout)["packets"] if "pts_time" in p)


def test_ffmpeg_made_vfr_with_audio_round_trips(tmp_path):
    source = shared_path("video", "driving", "d12.mp4")
    vfr = tmp_path / "vfr.mkv"
    # Drop frames unevenly: the survivors keep their original (now irregular) timestamps.
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-t", "3",
                    "-vf", r"select='not(mod(n\,3))+eq(mod(n\,7)\,1)'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-c:a", "copy", str(vfr)], check=True)
    out = tmp_path / "out.mkv"
    run = subprocess.run([sys.executable, "-m", "facepaint", "faces", str(vfr), "--draw", str(out),
                          "--detect-every", "5", "-q"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    src_v, out_v = ffprobe(vfr, "v:0"), ffprobe(out, "v:0")
    gaps = np.diff(src_v)
    assert gaps.max() > 1.5 * gaps.min()  # really variable
    assert len(out_v) == len(src_v) and np.allclose(out_v, src_v, atol=0.002)
    assert ffprobe(out, "a:0") == pytest.approx(ffprobe(vfr, "a:0"), abs=0.002)


def test_face_model_rebuilds_from_its_script(tmp_path):
    shared_path("images", "expressions", "labelled")
    from conftest import REPO, SHARED

    out = tmp_path / "model.npz"
    run = subprocess.run([sys.executable, str(REPO / "models" / "synthetic_faces" / "build.py"),
                          "--data", str(SHARED), "--limit", "4", "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    model = np.load(out)
    assert model["mean"].shape == (256, 256) and model["components"].shape[1:] == (128, 128)
    assert int(model["sources"]) >= 2
    from facepaint.modes.anonymize import FaceModel

    identity = FaceModel(out).sample(np.random.default_rng(0))
    assert identity.texture.shape == (256, 256) and 20 < identity.texture.mean() < 235
    assert model["expression_deltas"].shape == (len(model["expression_names"]), 128, 128)
    assert "mouthSmileLeft" in list(model["expression_names"])
