"""The data that flows through the pipeline.

``Frame`` is one RGB picture with its timestamp; ``Face`` is one tracked face in
it, the only thing the stages hand each other (detect -> track -> landmarks ->
mode -> composite). Coordinates are always pixels of the full frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees, as the viewer of the picture sees it.

    yaw > 0: the face turns towards the image's right; pitch > 0: it looks down;
    roll > 0: the head tilts counter-clockwise on screen. All 0 for a face
    looking straight into the camera (tests/test_pose.py pins the signs).
    """

    yaw: float
    pitch: float
    roll: float

    def as_dict(self) -> dict[str, float]:
        return {"yaw": round(self.yaw, 2), "pitch": round(self.pitch, 2), "roll": round(self.roll, 2)}


@dataclass
class Face:
    """One face in one frame, with a track id that is stable across frames.

    ``detected`` is False when no detector or landmarker saw the face in this
    frame and its position was predicted from earlier frames: modes must still
    treat such faces (a face hidden one frame late is a face leaked).
    ``landmarks``/``blendshapes``/``pose`` are None for faces too small or too
    turned for the landmarker; the box is always there.
    """

    track_id: int
    box: np.ndarray  # (4,) float32: x0, y0, x1, y1
    score: float
    detected: bool = True
    landmarks: np.ndarray | None = None  # (478, 3) float32: x, y in pixels, z in pixel units
    blendshapes: dict[str, float] | None = None  # 52 ARKit-style coefficients in [0, 1]
    pose: Pose | None = None
    transform: np.ndarray | None = None  # (4, 4) face-geometry matrix, canonical mesh (cm) -> camera

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def size(self) -> float:
        return max(self.width, self.height)

    def to_json(self, precision: int = 2) -> dict:
        out: dict = {
            "track": self.track_id,
            "box": [round(float(v), precision) for v in self.box],
            "score": round(float(self.score), 4),
            "detected": self.detected,
        }
        if self.landmarks is not None:
            out["landmarks"] = np.round(self.landmarks.astype(np.float64), precision).tolist()
        if self.blendshapes is not None:
            out["blendshapes"] = {k: round(float(v), 4) for k, v in self.blendshapes.items()}
        if self.pose is not None:
            out["pose"] = self.pose.as_dict()
        return out


@dataclass
class Frame:
    """An RGB frame (H x W x 3, uint8) with its presentation time.

    ``pts``/``time_base`` are kept exactly as the source had them (PyAV style) so
    nothing downstream snaps variable frame rates to a grid; ``time`` is the
    same instant in seconds for filters that need a clock.
    """

    image: np.ndarray
    index: int = 0
    pts: int | None = None
    time_base: Fraction | None = None

    @property
    def time(self) -> float:
        if self.pts is None or self.time_base is None:
            return float(self.index) / 30.0  # no clock: assume 30 fps for smoothing only
        return float(self.pts * self.time_base)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @cached_property
    def grey(self) -> np.ndarray:
        """The picture in grey (uint8), made once per frame for whoever needs motion: the face
        stack's landmark steadying and the modes' flow-guided blending share it."""
        import cv2

        return self.image if self.image.ndim == 2 else cv2.cvtColor(self.image, cv2.COLOR_RGB2GRAY)


@dataclass
class FrameResult:
    """What the engine returns per frame: the output picture, its faces and stage timings (ms).

    ``changed`` is False only when ``image`` holds exactly the input's pixels (hosts may then pass
    their original frame through untouched); anything a mode drew or concealed sets it.
    ``hidden``: boxes concealed beyond ``faces`` (a face found only in a later frame, hidden where
    it could have been): a host that holds faces for late frames must cover these too.
    """

    frame: Frame
    image: np.ndarray
    faces: list[Face]
    timings: dict[str, float] = field(default_factory=dict)
    changed: bool = False
    hidden: list[np.ndarray] = field(default_factory=list)
