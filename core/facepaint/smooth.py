"""Steadying over time: landmarks by the picture's own motion, blendshapes by One-Euro.

Landmarks: ``FlowPredictor`` moves the previous landmarks by optical flow and
``steady_landmarks`` pulls them towards the new fit (no lag behind the head, no drift).
Blendshapes: One-Euro filtering (Casiez et al., CHI 2012), written here rather than taken
from a package because we need it vectorised over many values at once and driven by real
timestamps (variable frame rate); the published filter is a dozen lines. Slow change gets
heavy smoothing, fast change raises the cut-off so the output does not lag.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters an array of any shape sample by sample.

    ``min_cutoff`` (Hz) sets smoothing at rest; ``beta`` how fast the cut-off
    rises with speed. ``scale`` divides the speed first, so one setting can work
    for values of any size (face size / 100 makes a pixel speed "percent of the face
    per second").
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.3, d_cutoff: float = 1.0):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def reset(self) -> None:
        self._value = self._speed = self._time = None

    def __call__(self, value: np.ndarray, time: float, scale: float = 1.0) -> np.ndarray:
        value = np.asarray(value, dtype=np.float32)
        if self._value is None or self._time is None or time <= self._time or self._value.shape != value.shape:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), time
            return value.copy()
        dt = time - self._time
        speed = (value - self._value) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._speed = a_d * speed + (1 - a_d) * self._speed
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed) / max(scale, 1e-6)
        a = _alpha(cutoff, dt)
        self._value = (a * value + (1 - a) * self._value).astype(np.float32)
        self._time = time
        return self._value.copy()


class FlowPredictor:
    """Where points of the previous frame are now, moved by the pictures' own motion (dense
    optical flow, OpenCV's DIS, over the points' neighbourhood at about ``side`` px).

    The landmarker's fits jitter from frame to frame; a filter over the fits alone (One-Euro)
    must guess motion from the same noisy fits, so it lags when the head moves fast, and a drawn
    face that lags slides over the real one. The picture knows the motion: where it does not
    move (a still head, a repeated frame), neither does the prediction.
    """

    def __init__(self, side: int = 128):
        import cv2

        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.side = side

    def __call__(self, previous_grey: np.ndarray, grey: np.ndarray, points: np.ndarray) -> np.ndarray:
        """``points`` (N, 2+) in the previous frame -> (N, 2+) in this one (extra columns kept)."""
        import cv2

        h, w = grey.shape[:2]
        lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
        pad = 0.15 * float((hi - lo).max()) + 4
        x0, y0 = int(max(0, np.floor(lo[0] - pad))), int(max(0, np.floor(lo[1] - pad)))
        x1, y1 = int(min(w, np.ceil(hi[0] + pad))), int(min(h, np.ceil(hi[1] + pad)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return points.copy()
        scale = min(2.0, self.side / max(x1 - x0, y1 - y0))
        size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
        before = cv2.resize(previous_grey[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
        after = cv2.resize(grey[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
        flow = self._flow.calc(before, after, None)
        sx = size[0] / (x1 - x0)
        sy = size[1] / (y1 - y0)
        map_x = ((points[:, 0] - x0) * sx).astype(np.float32).reshape(-1, 1)
        map_y = ((points[:, 1] - y0) * sy).astype(np.float32).reshape(-1, 1)
        moved = points.astype(np.float32).copy()
        moved[:, 0] += cv2.remap(flow[..., 0], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0] / sx
        moved[:, 1] += cv2.remap(flow[..., 1], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0] / sy
        return moved


def steady_landmarks(measured: np.ndarray, predicted: np.ndarray, size: float, settle: float = 0.2,
                     tolerance: float = 0.04) -> np.ndarray:
    """This frame's landmarks: the previous ones moved by the picture's motion (``predicted``),
    drawn towards the landmarker's fit (``measured``) by ``settle`` per frame where the two agree
    to within fit noise, and all the way where they part by ``tolerance`` x face ``size`` or more
    (motion the flow missed: a blink, a lip closing, an occlusion). Averages out jitter without
    lagging behind the head, and cannot drift: each frame pulls towards the fits."""
    gap = np.linalg.norm(measured[:, :2] - predicted[:, :2], axis=1, keepdims=True)
    pull = settle + (1.0 - settle) * np.clip(gap / max(tolerance * size, 1e-3), 0.0, 1.0)
    return (predicted + pull * (measured - predicted)).astype(np.float32)
