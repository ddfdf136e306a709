from fractions import Fraction

import av
import numpy as np
import pytest

from facepaint.engine import Engine
from facepaint.errors import FacepaintError
from facepaint.media import MediaReader, read_image
from facepaint.pipeline import run_job
from conftest import pan_frames, write_video


@pytest.fixture(scope="module")
def engine():
    with Engine(device="cpu", detect_every=3) as e:
        yield e


def video_pts(path):
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [float(f.pts * stream.time_base) for f in c.decode(stream)]


def audio_packets(path):
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [(p.pts, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_variable_frame_rate_and_audio_survive(tmp_path, astronaut, engine, suffix):
    src = tmp_path / f"vfr{suffix}"
    pts = [0, 40, 80, 200, 233, 266, 400, 440, 480, 700]  # uneven gaps (ms)
    write_video(src, pan_frames(astronaut, len(pts)), pts=pts, audio_seconds=1.0)
    out = tmp_path / f"out{suffix}"
    summary = run_job(str(src), engine, output=out, progress=False)
    assert summary.frames == len(pts) and summary.faces == len(pts)
    assert video_pts(out) == pytest.approx(video_pts(src), abs=1e-3)
    assert audio_packets(out) == audio_packets(src)  # copied packet for packet


def test_images_of_every_kind(tmp_path, astronaut, engine):
    import cv2

    cases = {
        "gray.png": cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY),
        "rgba.png": np.dstack([astronaut[..., ::-1], np.full(astronaut.shape[:2], 200, np.uint8)]),
        "deep.png": astronaut[..., ::-1].astype(np.uint16) * 257,
        "tiny.png": astronaut[:7, :5, ::-1],
        "odd.jpg": astronaut[:301, :203, ::-1],
    }
    for name, pixels in cases.items():
        src = tmp_path / name
        cv2.imwrite(str(src), pixels)
        image = read_image(src)
        assert image.dtype == np.uint8 and image.shape[2] == 3 and image.shape[:2] == pixels.shape[:2]
        out = tmp_path / f"out-{name}"
        run_job(str(src), engine, output=out, progress=False)
        assert read_image(out).shape == image.shape


def test_odd_sized_video(tmp_path, astronaut, engine):
    src = tmp_path / "odd.mkv"
    frames = [np.ascontiguousarray(f[:181, :243]) for f in pan_frames(astronaut, 4)]
    write_video(src, frames, codec="ffv1")
    out = tmp_path / "odd-out.mp4"
    run_job(str(src), engine, output=out, progress=False)
    with MediaReader(out) as r:
        assert (r.width, r.height) == (243, 181)


def test_bad_inputs_give_clear_errors_and_no_output(tmp_path, engine):
    out = tmp_path / "out.mp4"
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    truncated = tmp_path / "cut.mp4"
    write_video(tmp_path / "full.mp4", [np.zeros((64, 64, 3), np.uint8)] * 20)
    truncated.write_bytes((tmp_path / "full.mp4").read_bytes()[:300])
    audio_only = tmp_path / "tone.m4a"
    with av.open(str(audio_only), "w") as c:
        s = c.add_stream("aac", rate=48000)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 48000, 0
        for p in [*s.encode(f), *s.encode()]:
            c.mux(p)
    cases = {tmp_path / "missing.mp4": "no such file", text: "not a readable", truncated: "corrupt|no decodable|not a readable",
             audio_only: "no video stream", tmp_path: "folder"}
    for src, message in cases.items():
        with pytest.raises(FacepaintError, match=message):
            run_job(str(src), engine, output=out, progress=False)
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_output_checks(tmp_path, astronaut, engine):
    src = tmp_path / "clip.mkv"
    write_video(src, pan_frames(astronaut, 3))
    with pytest.raises(FacepaintError, match="video output"):
        run_job(str(src), engine, output=tmp_path / "frame.png", progress=False)
    with pytest.raises(FacepaintError, match="unknown output type"):
        run_job(str(src), engine, output=tmp_path / "clip.xyz", progress=False)
    with pytest.raises(FacepaintError, match="overwrite the input"):
        run_job(str(src), engine, output=src, progress=False)
    with pytest.raises(FacepaintError, match="does not exist"):
        run_job(str(src), engine, output=tmp_path / "nope" / "x.mp4", progress=False)


def test_reader_keeps_source_time_base(tmp_path, astronaut):
    src = tmp_path / "tb.mkv"
    write_video(src, pan_frames(astronaut, 3), pts=[0, 33, 100])
    with MediaReader(src) as r:
        frames = list(r.frames())
    assert [f.pts for f in frames] == [0, 33, 100] and frames[0].time_base == Fraction(1, 1000)
    assert [round(f.time, 3) for f in frames] == [0.0, 0.033, 0.1]
