import time
from fractions import Fraction

import numpy as np
import pytest

from facepaint.engine import Engine
from facepaint.errors import FacepaintError
from facepaint.modes import Mode, available_modes, create_mode, register_mode
from facepaint.types import Frame
from conftest import pan_frames


@pytest.fixture(scope="module")
def engine():
    with Engine(device="cpu", detect_every=5) as e:
        yield e


def test_streaming_keeps_one_track_on_a_moving_face(astronaut):
    with Engine(device="cpu", detect_every=5) as engine:
        results = list(engine.run(Frame(img, index=i, pts=i * 40, time_base=None) for i, img in enumerate(pan_frames(astronaut, 24))))
    assert all(len(r.faces) == 1 for r in results)
    assert {r.faces[0].track_id for r in results} == {1}
    assert all(r.faces[0].landmarks is not None and r.faces[0].detected for r in results)
    # The face moves left in the crops by 4 px a frame: the box follows.
    xs = [r.faces[0].box[0] for r in results]
    assert xs[0] - xs[-1] == pytest.approx(4 * 23, abs=8)
    assert {"detect", "landmarks", "track", "total"} <= set(results[0].timings)
    assert results[1].timings["detect"] < 1.0  # detector skipped between detections


def test_frames_without_faces_pass_through(engine):
    blank = np.full((120, 160, 3), 30, np.uint8)
    result = engine.process(Frame(blank))
    assert result.faces == [] and result.image is blank


def test_occluded_face_is_predicted_not_lost(astronaut):
    frames = pan_frames(astronaut, 12)
    frames[6] = frames[6].copy()
    frames[6][40:260, 80:260] = 0  # a hand over the face for one frame
    with Engine(device="cpu", detect_every=1) as engine:
        results = [engine.process(Frame(f, index=i, pts=i, time_base=None)) for i, f in enumerate(frames)]
    assert [len(r.faces) for r in results] == [1] * 12
    assert results[6].faces[0].detected is False and results[6].faces[0].track_id == 1
    assert results[7].faces[0].detected and results[11].faces[0].track_id == 1


def test_modes_plug_in_by_name(astronaut):
    calls = []

    @register_mode("test-invert")
    class Invert(Mode):
        def begin(self, track_id):
            calls.append(("begin", track_id))

        def end(self, track_id):
            calls.append(("end", track_id))

        def reset(self):
            calls.append(("reset",))

        def render(self, frame, faces):
            calls.append(("render", len(faces)))
            return 255 - frame.image

    assert "test-invert" in available_modes()
    with Engine(mode="test-invert", device="cpu") as engine:
        out = engine.process(Frame(astronaut)).image
        assert calls == [("begin", 1), ("render", 1)]
        engine.reset()  # a cut: tracks end first, then the mode forgets the shot
        assert calls[2:] == [("end", 1), ("reset",)]
    assert (out == 255 - astronaut).all()
    with pytest.raises(FacepaintError, match="unknown mode"):
        create_mode("no-such-mode")


def test_device_choice():
    from facepaint.device import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(FacepaintError):
        resolve_device("tpu")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(FacepaintError, match="no CUDA"):
            resolve_device("cuda")


def test_background_detection_finds_a_face_that_walks_in(astronaut):
    import time

    frames = [np.full((320, 320, 3), 60, np.uint8)] * 3 + pan_frames(astronaut, 40)
    with Engine(device="cpu", detect_async=True) as engine:
        results = []
        for i, f in enumerate(frames):
            results.append(engine.process(Frame(f, index=i, pts=i, time_base=None)))
            time.sleep(0.01)  # frames arrive over time, as from a camera
    assert all(r.faces == [] for r in results[:3])
    first = next(i for i, r in enumerate(results) if r.faces)
    assert first < 3 + 20  # found within a few detector runs
    assert all(len(r.faces) == 1 and r.faces[0].track_id == 1 for r in results[first:])
    assert all(r.faces[0].landmarks is not None for r in results[first + 1:])


def test_background_detector_result_is_dropped_after_reset(astronaut):
    from facepaint.detect import BackgroundDetector, CenterFaceDetector

    background = BackgroundDetector(CenterFaceDetector(threads=1))
    try:
        assert background.submit(astronaut, tag=7)
        assert not background.submit(astronaut, tag=8)  # busy: one at a time
        for _ in range(200):
            done = background.take()
            if done:
                break
            time.sleep(0.01)
        assert done[0] == 7 and len(done[1]) == 1
    finally:
        background.close()


def test_landmarks_keep_up_with_a_fast_pan_and_stay_still_on_repeated_frames(astronaut):
    # 12 px a frame (300 px/s at 25 fps), then the same frame three times. A filter over the
    # fits alone lags at the start (2 px behind) and catches up on the repeats (the face slides).
    window = [np.ascontiguousarray(astronaut[60:380, 40 + 12 * i:360 + 12 * i]) for i in range(10)]
    images = window + [window[-1]] * 3
    with Engine(device="cpu") as engine:
        nose = [engine.process(Frame(img, index=i, pts=i, time_base=Fraction(1, 25))).faces[0].landmarks[1, :2].copy()
                for i, img in enumerate(images)]
    steps = np.diff(np.array(nose)[:, 0])
    assert np.abs(steps[:9] + 12).max() < 0.5  # moves with the face from the first step: no lag
    assert np.abs(steps[9:]).max() < 0.3  # a repeated frame moves next to nothing


def test_drawing_on_the_render_thread_gives_the_same_frames(astronaut):
    # A face walks in between detections (the held-back frames get it concealed), then moves.
    blank = np.full((320, 320, 3), 90, np.uint8)
    images = [blank] * 3 + pan_frames(astronaut, 12)
    outputs = {}
    for threaded in (True, False):
        with Engine.pipelined("anonymize", 5, device="cpu", render_thread=threaded) as engine:
            assert (engine._renderer is not None) == threaded
            results = list(engine.run(Frame(img, index=i, pts=i, time_base=Fraction(1, 25))
                                      for i, img in enumerate(images)))
        outputs[threaded] = [r.image for r in results]
        assert all(r.changed for r in results[3:])
    for a, b in zip(outputs[True], outputs[False]):
        np.testing.assert_array_equal(a, b)


def test_after_a_gap_in_the_stream_the_face_is_found_where_it_is_now(astronaut):
    """A host that skips frames (OBS with a service slower than the camera) can leave seconds
    between two frames. The face moved meanwhile: it is detected on the frame after the gap and
    reported there, not at its old box extrapolated by its speed (which flew off into the frame's
    border, and OBS then held that box over a raw face)."""
    from fractions import Fraction

    from facepaint.detect import box_iou

    wide = np.full((400, 900, 3), 90, np.uint8)
    face = astronaut[20:220, 150:330]

    def at(x):
        f = wide.copy()
        f[100:300, x:x + 180] = face
        return f

    times = [i / 30 for i in range(8)] + [2.5 + i / 30 for i in range(10)]  # 2.2 s gap after frame 7
    xs = [60 + 12 * i for i in range(8)] + [600] * 10  # moving right, then found elsewhere
    with Engine.pipelined("anonymize", 5, device="cpu") as engine:
        results = []
        for i, (t, x) in enumerate(zip(times, xs)):
            results += engine.push(Frame(at(x), index=i, pts=round(t * 1000), time_base=Fraction(1, 1000)))
        results += engine.flush()
    assert [r.frame.index for r in results] == list(range(len(times)))
    (first,) = results[0].faces
    for r in results[8:]:
        where = (first.box + np.array([xs[r.frame.index] - xs[0], 0, xs[r.frame.index] - xs[0], 0]))[None]
        assert box_iou(where, np.stack([f.box for f in r.faces])).max() > 0.6, (r.frame.index, r.faces)
