"""facepaint pipe between two real ffmpeg processes."""

import hashlib
import subprocess
import sys

import av
import numpy as np
import pytest

from conftest import pan_frames, write_video

FACEPAINT = [sys.executable, "-m", "facepaint", "pipe", "--mode", "anonymize", "--stats", "none"]


def to_nut(src, pix_fmt="yuv420p", extra=()):
    return ["ffmpeg", "-v", "error", "-copyts", "-i", str(src), "-map", "0:v", "-map", "0:a?", "-c:v", "rawvideo",
            "-pix_fmt", pix_fmt, "-enc_time_base:v", "-1", "-c:a", "copy", "-fps_mode", "passthrough", *extra,
            "-f", "nut", "-"]


def chain(src, out, pix_fmt="yuv420p", middle=None):
    """SRC -> ffmpeg -> MIDDLE (facepaint pipe, or a pass-through) -> ffmpeg -> OUT."""
    raw = subprocess.run(to_nut(src, pix_fmt), capture_output=True, check=True).stdout
    if middle is None:
        filtered, code, err = raw, 0, ""
    else:
        run = subprocess.run(middle, input=raw, capture_output=True)
        filtered, code, err = run.stdout, run.returncode, run.stderr.decode()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-copyts", "-f", "nut", "-i", "-", "-map", "0", "-c:v", "libx264",
                    "-enc_time_base:v", "-1", "-c:a", "copy", "-fps_mode", "passthrough", str(out)],
                   input=filtered, capture_output=True, check=True)
    return raw, filtered, code, err


def nut_packets(data):
    import io

    with av.open(io.BytesIO(data), format="nut") as c:
        return sorted((p.stream.type, p.pts, hashlib.md5(bytes(p)).hexdigest() if p.stream.type == "audio" else "")
                      for p in c.demux() if p.size)


def video_pts(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return sorted(round(float(p.pts * s.time_base), 4) for p in c.demux(s) if p.pts is not None)


def audio_hashes(path):
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [hashlib.md5(bytes(p)).hexdigest() for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory, astronaut):
    path = tmp_path_factory.mktemp("pipe") / "vfr.mkv"
    pts = [0, 40, 80, 200, 233, 266, 400, 440, 480, 700, 740, 780]
    write_video(path, pan_frames(astronaut, len(pts)), pts=pts, audio_seconds=1.0)
    return path


@pytest.fixture(scope="module")
def cfr_clip(tmp_path_factory, astronaut):
    path = tmp_path_factory.mktemp("pipe") / "cfr.mp4"
    write_video(path, pan_frames(astronaut, 10), pts=[i * 40 for i in range(10)], audio_seconds=0.5)
    return path


def assert_chain_keeps_timing(clip, out, plain) -> list[float]:
    """Run the chain with and without facepaint; both must agree packet for packet. Returns video pts."""
    raw, filtered, code, err = chain(clip, out, middle=FACEPAINT)
    assert code == 0, err
    # What facepaint emits: every packet's pts as it came in, audio bytes identical.
    assert nut_packets(filtered) == nut_packets(raw)
    # The whole chain: the same timestamps as the same chain without facepaint.
    chain(clip, plain)
    assert video_pts(out) == video_pts(plain)
    return video_pts(out)


def test_cfr_timestamps_and_audio_survive_the_chain(cfr_clip, tmp_path):
    pts = assert_chain_keeps_timing(cfr_clip, tmp_path / "out.mp4", tmp_path / "plain.mp4")
    assert len(pts) == 10


def test_colour_range_is_kept(cfr_clip):
    # NUT carries no colour tags; yuv4mpegpipe carries the range (XCOLORRANGE).
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(cfr_clip), "-an", "-pix_fmt", "yuv420p",
                          "-color_range", "pc", "-f", "yuv4mpegpipe", "-"], capture_output=True, check=True).stdout
    assert b"XCOLORRANGE=FULL" in raw.split(b"\n", 1)[0]
    run = subprocess.run([*FACEPAINT, "--in", "y4m"], input=raw, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    assert b"XCOLORRANGE=FULL" in run.stdout.split(b"\n", 1)[0]


def test_interrupt_ends_with_130(vfr_clip):
    import signal
    import time

    proc = subprocess.Popen(FACEPAINT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    raw = subprocess.run(to_nut(vfr_clip), capture_output=True, check=True).stdout
    proc.stdin.write(raw[: len(raw) // 3])
    proc.stdin.flush()
    time.sleep(3)  # models loaded, frames in flight, waiting for more input
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    assert proc.returncode == 130 and "Traceback" not in err


def test_vfr_timestamps_and_audio_survive_the_chain(vfr_clip, tmp_path):
    pts = assert_chain_keeps_timing(vfr_clip, tmp_path / "out.mkv", tmp_path / "plain.mkv")
    assert audio_hashes(tmp_path / "out.mkv") == audio_hashes(tmp_path / "plain.mkv") == audio_hashes(vfr_clip)
    gaps = np.diff(pts)
    assert gaps.max() > 2 * gaps.min()  # still variable frame rate


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p", "yuv444p", "nv12", "yuv420p10le", "rgb24", "bgra"])
def test_pixel_formats_come_back_as_they_went_in(vfr_clip, pix_fmt):
    raw = subprocess.run(to_nut(vfr_clip, pix_fmt), capture_output=True, check=True).stdout
    run = subprocess.run(FACEPAINT, input=raw, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    import io

    with av.open(io.BytesIO(raw), format="nut") as a, av.open(io.BytesIO(run.stdout), format="nut") as b:
        assert b.streams.video[0].codec_context.pix_fmt == pix_fmt
        src = [(f.pts, f.to_ndarray(format="rgb24")) for f in a.decode(video=0)]
        out = [(f.pts, f.to_ndarray(format="rgb24")) for f in b.decode(video=0)]
    assert [p for p, _ in out] == [p for p, _ in src]
    changed = [np.abs(x.astype(int) - y).mean() for (_, x), (_, y) in zip(src, out)]
    assert min(changed) > 1.0  # every frame has a face, and every face was treated


def test_frames_without_faces_pass_bit_exact(tmp_path):
    src = tmp_path / "empty.mkv"
    write_video(src, [np.full((64, 96, 3), 40 + 10 * i, np.uint8) for i in range(5)])
    raw = subprocess.run(to_nut(src), capture_output=True, check=True).stdout
    run = subprocess.run(FACEPAINT, input=raw, capture_output=True)
    assert run.returncode == 0
    import io

    with av.open(io.BytesIO(raw), format="nut") as a, av.open(io.BytesIO(run.stdout), format="nut") as b:
        assert [bytes(p) for p in a.demux(video=0) if p.size] == [bytes(p) for p in b.demux(video=0) if p.size]


def test_no_audio_and_y4m(vfr_clip, tmp_path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(vfr_clip), "-an", "-pix_fmt", "yuv420p",
                          "-f", "yuv4mpegpipe", "-"], capture_output=True, check=True).stdout
    run = subprocess.run([*FACEPAINT, "--in", "y4m"], input=raw, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    # Same size, rate and frame count (PyAV cannot set y4m's chroma-siting tag, so the header's
    # C420 variant may differ).
    head_in, head_out = raw.split(b"\n", 1)[0].split(), run.stdout.split(b"\n", 1)[0].split()
    assert head_out[:4] == head_in[:4]
    assert run.stdout.count(b"FRAME\n") == raw.count(b"FRAME\n") >= 12  # y4m is CFR: ffmpeg fills gaps


def test_garbage_and_truncated_input(vfr_clip):
    bad = subprocess.run(FACEPAINT, input=b"this is not video" * 100, capture_output=True)
    assert bad.returncode == 2
    lines = bad.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("facepaint: error: stdin") and "Traceback" not in bad.stderr.decode()
    raw = subprocess.run(to_nut(vfr_clip), capture_output=True, check=True).stdout
    cut = subprocess.run(FACEPAINT, input=raw[: len(raw) // 2], capture_output=True)
    assert cut.returncode in (0, 2) and "Traceback" not in cut.stderr.decode()
    if cut.returncode == 0:  # a clean cut between frames: the frames before it come through
        import io

        with av.open(io.BytesIO(cut.stdout), format="nut") as c:
            assert 0 < sum(1 for _ in c.decode(video=0)) < 12


def test_downstream_closing_early_ends_cleanly(vfr_clip):
    raw = subprocess.run(to_nut(vfr_clip), capture_output=True, check=True).stdout
    import threading

    proc = subprocess.Popen(FACEPAINT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        try:
            proc.stdin.write(raw)
            proc.stdin.close()
        except BrokenPipeError:
            pass

    threading.Thread(target=feed, daemon=True).start()
    assert len(proc.stdout.read(2000)) == 2000
    proc.stdout.close()  # the reader goes away mid-stream
    proc.wait(timeout=120)
    err = proc.stderr.read().decode()
    assert proc.returncode == 141 and "Traceback" not in err and "closed the pipe" in err


def test_drop_policy_keeps_the_order_and_treats_every_written_frame(vfr_clip):
    raw = subprocess.run(to_nut(vfr_clip), capture_output=True, check=True).stdout
    run = subprocess.run([*FACEPAINT[:-2], "--stats", "json", "--overload", "drop"], input=raw, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    import io
    import json

    final = json.loads(run.stderr.decode().strip().splitlines()[-1])
    with av.open(io.BytesIO(run.stdout), format="nut") as c:
        pts = [f.pts for f in c.decode(video=0)]
    assert pts == sorted(pts) and len(pts) == final["frames_out"] == 12 - final["dropped"]


def test_facepaint_ffmpeg_wrapper_builds_the_same_chain(vfr_clip, tmp_path):
    import os
    from conftest import REPO

    env = dict(os.environ, FACEPAINT=str(REPO / ".venv" / "bin" / "facepaint"))
    env["PATH"] = str(REPO / ".venv" / "bin") + os.pathsep + env.get("PATH", "")
    wrapper = REPO / "plugins" / "ffmpeg" / "facepaint-ffmpeg"
    out = tmp_path / "wrapped.mkv"
    run = subprocess.run([sys.executable, str(wrapper), "-i", str(vfr_clip), "-crf", "20", str(out), "--",
                          "--mode", "anonymize", "--stats", "none"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    chain(vfr_clip, tmp_path / "plain.mkv")
    assert video_pts(out) == video_pts(tmp_path / "plain.mkv")
    assert audio_hashes(out) == audio_hashes(vfr_clip)
    usage = subprocess.run([sys.executable, str(wrapper), "-i", str(vfr_clip), str(out)], capture_output=True, text=True)
    assert usage.returncode == 2 and usage.stderr.startswith("facepaint-ffmpeg: error:")


def test_face_found_late_is_concealed_in_the_frames_already_read(tmp_path, astronaut):
    import io

    src = tmp_path / "walk-in.mkv"
    frames = [np.full((320, 320, 3), 90, np.uint8)] + pan_frames(astronaut, 8)
    write_video(src, frames)
    raw = subprocess.run(to_nut(src), capture_output=True, check=True).stdout
    run = subprocess.run([*FACEPAINT, "--detect-every", "5"], input=raw, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    with av.open(io.BytesIO(raw), format="nut") as a, av.open(io.BytesIO(run.stdout), format="nut") as b:
        before = [f.to_ndarray(format="rgb24").astype(int) for f in a.decode(video=0)]
        after = [f.to_ndarray(format="rgb24").astype(int) for f in b.decode(video=0)]
    assert len(after) == 9
    # The detector ran on frame 0 (no face yet) and frame 5, whose result would have come after the
    # end: every frame with the face must still come out treated, the face area most of all.
    for i in range(1, 9):
        x = 40 + i * 4  # where the face sits in pan_frames' crops (astronaut face at x 180-270, y 60-180)
        face = (slice(10, 110), slice(140 - x + 40, 230 - x + 40))
        assert np.abs(after[i][face] - before[i][face]).mean() > 15, f"frame {i} left the face as it was"


def test_paint_mode_in_the_chain_paints_every_frame_and_keeps_timing(vfr_clip, tmp_path):
    out = tmp_path / "painted.mkv"
    painted = FACEPAINT[:5] + ["paint", "--style", "the-scream", "--region", "frame", "--stats", "none"]
    raw, filtered, code, err = chain(vfr_clip, out, middle=painted)
    assert code == 0, err
    assert [p[:2] for p in nut_packets(filtered)] == [p[:2] for p in nut_packets(raw)]
    with av.open(str(vfr_clip)) as a, av.open(str(out)) as b:
        before = [f.to_ndarray(format="rgb24") for f in a.decode(video=0)]
        after = [f.to_ndarray(format="rgb24") for f in b.decode(video=0)]
    assert len(before) == len(after)
    assert all(np.abs(x.astype(int) - y).mean() > 10 for x, y in zip(before, after))


def test_paint_needs_a_style():
    run = subprocess.run(FACEPAINT[:5] + ["paint"], input=b"", capture_output=True)
    assert run.returncode == 2 and b"needs --style" in run.stderr
