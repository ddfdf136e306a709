"""478 landmarks, 52 blendshapes and the face-geometry matrix from MediaPipe's FaceLandmarker.

We run the Tasks API on a square crop around each tracked face rather than on
the whole frame: the landmarker's built-in detector is short-range, so on a crop
the face is always big enough for it, the work is per face instead of per pixel,
and far faces get upscaled to the network's working size.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import assets


@dataclass
class LandmarkResult:
    landmarks: np.ndarray  # (478, 3) frame pixels; z uses the x scale (MediaPipe convention)
    blendshapes: dict[str, float]
    transform: np.ndarray  # (4, 4)


@dataclass(frozen=True)
class Crop:
    """A square window of the frame, resampled to ``size`` x ``size`` pixels."""

    x0: float
    y0: float
    side: float
    size: int

    @classmethod
    def around(cls, box: np.ndarray, scale: float, size: int) -> "Crop":
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * scale
        return cls(float(cx - side / 2), float(cy - side / 2), float(max(side, 1.0)), size)

    def cut(self, image: np.ndarray) -> np.ndarray:
        """Resample the window with an affine warp; parts outside the frame are black."""
        import cv2

        k = self.size / self.side
        matrix = np.array([[k, 0, -self.x0 * k], [0, k, -self.y0 * k]], dtype=np.float64)
        interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
        return cv2.warpAffine(image, matrix, (self.size, self.size), flags=interp, borderMode=cv2.BORDER_CONSTANT)

    def to_frame(self, normalized: np.ndarray) -> np.ndarray:
        """MediaPipe's normalized crop coordinates -> frame pixels (z scaled like x)."""
        out = np.empty_like(normalized, dtype=np.float32)
        out[:, 0] = self.x0 + normalized[:, 0] * self.side
        out[:, 1] = self.y0 + normalized[:, 1] * self.side
        out[:, 2] = normalized[:, 2] * self.side
        return out


@contextmanager
def _quiet_native_stderr():
    """MediaPipe's C++ core logs set-up chatter straight to fd 2 (no Python or env switch in 1.x
    silences it); point fd 2 at /dev/null while the graph starts, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _DeferredModule(types.ModuleType):
    """Stands in for a module until something reads from it, then imports the real one."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        sys.modules.pop(self.__name__, None)
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


@contextmanager
def _pyplot_deferred():
    """mediapipe.tasks.python.vision imports matplotlib.pyplot for drawing helpers this project
    never calls: 0.18 s of every start (a sixth of a short job's set-up). While mediapipe loads,
    ``matplotlib.pyplot`` is a stand-in that imports the real module on first use; afterwards
    nothing is left in ``sys.modules``, so any other import gets the real one."""
    if "matplotlib.pyplot" in sys.modules:
        yield
        return
    stand_in = _DeferredModule("matplotlib.pyplot")
    sys.modules["matplotlib.pyplot"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("matplotlib.pyplot") is stand_in:
            del sys.modules["matplotlib.pyplot"]


class FaceLandmarker:
    """Per-face landmarks on crops; ``None`` when the crop holds no face the model accepts.

    ``crop_scale`` is the crop side relative to the face box (room for the whole
    head and for motion since the box was measured); ``crop_size`` the pixels
    the model sees.
    """

    def __init__(self, crop_scale: float = 2.0, crop_size: int = 256, min_confidence: float = 0.5):
        with _pyplot_deferred():
            from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(assets.face_landmarker_task())),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=2,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        import mediapipe as mp

        with _quiet_native_stderr():
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
            # The first inference logs too (delegate and feedback-tensor notes).
            blank = np.zeros((crop_size, crop_size, 3), dtype=np.uint8)
            self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=blank))
        self.crop_scale = crop_scale
        self.crop_size = crop_size

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __call__(self, image: np.ndarray, box: np.ndarray) -> LandmarkResult | None:
        import mediapipe as mp

        crop = Crop.around(box, self.crop_scale, self.crop_size)
        pixels = np.ascontiguousarray(crop.cut(image))
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
        if not result.face_landmarks:
            return None
        faces = [np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32) for lms in result.face_landmarks]
        # Two faces can share a crop (people side by side): take the one nearest its centre.
        best = 0 if len(faces) == 1 else int(np.argmin([np.hypot(*(f[:, :2].mean(0) - 0.5)) for f in faces]))
        normalized = faces[best]
        blendshapes = {c.category_name: float(c.score) for c in result.face_blendshapes[best]}
        transform = np.asarray(result.facial_transformation_matrixes[best], dtype=np.float32)
        return LandmarkResult(crop.to_frame(normalized), blendshapes, transform)
