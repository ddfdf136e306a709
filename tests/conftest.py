"""Shared fixtures: real faces from installed packages, ../shared/data when present, media makers."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEPAINT_SHARED", REPO.parent / "shared")) / "data"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED.joinpath(*parts).resolve()  # absolute: tests hand it to programs running elsewhere
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data exists beside the checkout and in CI only)")
    return path


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from facepaint.samples import load_sample

    return load_sample("sample:astronaut")


@pytest.fixture(scope="session")
def detector():
    from facepaint.detect import CenterFaceDetector

    return CenterFaceDetector(device="cpu")


@pytest.fixture(scope="session")
def landmarker():
    from facepaint.landmarks import FaceLandmarker

    with FaceLandmarker() as lm:
        yield lm


def pan_frames(image: np.ndarray, n: int, size: int = 320, step: int = 4):
    """Crops of ``image`` sliding right by ``step`` px a frame: a moving face for tracking tests."""
    return [np.ascontiguousarray(image[60:60 + size, 40 + i * step:40 + i * step + size]) for i in range(n)]


def write_video(path: Path, frames: list[np.ndarray], pts: list[int] | None = None,
                time_base: Fraction = Fraction(1, 1000), audio_seconds: float = 0.0, codec: str = "libx264") -> None:
    """Encode ``frames`` with explicit pts (variable frame rate when uneven) and an optional tone."""
    import av

    h, w = frames[0].shape[:2]
    pts = pts if pts is not None else [i * 40 for i in range(len(frames))]
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.time_base = time_base
        video.codec_context.time_base = time_base
        audio = None
        if audio_seconds:
            audio = out.add_stream("aac", rate=48000)
        for image, p in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = p, time_base
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            samples = int(48000 * audio_seconds)
            tone = (0.2 * np.sin(np.arange(samples) / 48000 * 2 * np.pi * 440)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[None, start:start + 1024]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
