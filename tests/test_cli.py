"""The real command, run as a user runs it (a subprocess)."""

import json
import subprocess
import sys

import pytest

from conftest import pan_frames, write_video


def facepaint(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "facepaint", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_faces_json_and_drawing(tmp_path):
    out_json, out_png = tmp_path / "a.json", tmp_path / "a.png"
    run = facepaint("faces", "sample:astronaut", "--json", out_json, "--draw", out_png, "--device", "cpu")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "W0000" not in run.stderr  # no native log noise
    data = json.loads(out_json.read_text())
    (frame,) = data["frames"]
    assert frame["index"] == 0 and frame["pts"] == 0.0
    (face,) = frame["faces"]
    assert face["track"] == 1 and len(face["box"]) == 4 and 0.5 < face["score"] <= 1
    assert len(face["landmarks"]) == 478 and all(len(p) == 3 for p in face["landmarks"])
    assert len(face["blendshapes"]) == 52 and "jawOpen" in face["blendshapes"]
    assert set(face["pose"]) == {"yaw", "pitch", "roll"}
    from facepaint.media import read_image
    from facepaint.samples import load_sample

    drawn = read_image(out_png)
    assert drawn.shape == (512, 512, 3) and (drawn != load_sample("sample:astronaut")).any()


def test_video_json_has_a_record_per_frame(tmp_path, astronaut):
    src = tmp_path / "clip.mp4"
    write_video(src, pan_frames(astronaut, 6), pts=[0, 40, 80, 120, 200, 240])
    out = tmp_path / "clip.json"
    run = facepaint("faces", src, "--json", out, "-q")
    assert run.returncode == 0, run.stderr
    frames = json.loads(out.read_text())["frames"]
    assert [f["index"] for f in frames] == list(range(6))
    assert [f["pts"] for f in frames] == [0.0, 0.04, 0.08, 0.12, 0.2, 0.24]
    assert {f["faces"][0]["track"] for f in frames} == {1}


@pytest.mark.parametrize("args, message", [
    (["faces", "missing.mp4", "--json", "o.json"], "no such file"),
    (["faces", "bad.mp4", "--json", "o.json"], "not a readable"),
    (["faces", "sample:astronaut"], "nothing to write"),
    (["faces", "sample:nobody", "--json", "o.json"], "unknown sample"),
    (["faces", "sample:astronaut", "--draw", "o.xyz"], "unknown output type"),
    (["faces", "sample:astronaut", "--json", "o.json", "--device", "cuda"], "CUDA"),
    (["anonymize", "missing.mp4", "o.xyz"], "no such file"),
    (["anonymize", "sample:astronaut", "o.xyz"], "unknown output type"),
    (["paint", "sample:astronaut", "o.png", "--style", "no-such-painting"], "unknown style"),
    (["paint", "sample:astronaut", "o.png", "--style", "bad.mp4"], "not a readable"),
    (["anonymize", "sample:astronaut", "o.png", "--style", "nope.jpg"], "unknown style"),
])
def test_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x01garbage" * 100)
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = facepaint(*args, cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facepaint: error:") and message in lines[0], run.stderr
    assert not any(tmp_path.glob("o.*"))


@pytest.mark.parametrize("command", [[], ["faces"], ["anonymize"], ["paint"], ["styles"], ["pipe"], ["demo"]])
def test_help(command):
    run = facepaint(*command, "--help")
    assert run.returncode == 0 and "usage: facepaint" in run.stdout


def test_demo_writes_a_picture(tmp_path):
    run = facepaint("demo", "--out", tmp_path / "demo", "-q")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "demo" / "astronaut-faces.png").stat().st_size > 10_000
    assert (tmp_path / "demo" / "astronaut-anonymized.png").stat().st_size > 10_000
    assert (tmp_path / "demo" / "astronaut-starry-night.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "demo" / "astronaut-faces.json").read_text())["frames"][0]["faces"]


def test_styles_lists_painters_and_filters():
    run = facepaint("styles")
    assert run.returncode == 0, run.stderr
    for name, painter in [("starry-night", "Vincent van Gogh"), ("the-scream", "Edvard Munch"),
                          ("the-great-wave", "Hokusai"), ("composition-vii", "Kandinsky"), ("oil", "filter")]:
        (line,) = [line for line in run.stdout.splitlines() if line.startswith(name + " ")]
        assert painter in line
