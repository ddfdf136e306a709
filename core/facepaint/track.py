"""Tracking: stable ids across frames, predicted positions through short misses.

Detections (every few frames) and landmark fits (every frame) are both
measurements of a track's box. Between them a constant-velocity model predicts
where the face went, so a detector drop-out or a hand over the face keeps the
track alive, marked ``detected=False``, for ``max_missing`` seconds.
"""

from __future__ import annotations

import itertools

import numpy as np

from .detect import Detection, box_iou
from .smooth import OneEuroFilter, steady_landmarks


# Longest step a box is extrapolated by its velocity in one go. A host that skips frames (an OBS
# service slower than the camera) can leave seconds between two frames: followed at full velocity,
# a nodding head's box flew off into the frame's border and the face was drawn there, raw.
MAX_EXTRAPOLATION_S = 0.25


class Track:
    """One face followed over time; the tracker owns these, stages read them."""

    def __init__(self, track_id: int, box: np.ndarray, score: float, time: float):
        self.id = track_id
        self.box = np.asarray(box, dtype=np.float32).copy()
        self.velocity = np.zeros(4, dtype=np.float32)  # d(box)/dt in px/s
        self.score = float(score)
        self.time = time  # time of the last measurement
        self.missing_since: float | None = None
        self.observed = True  # measured in the current frame
        self.hits = 1  # measurements at distinct times
        self._measured_box: np.ndarray = self.box.copy()
        self._measured_at: float | None = None  # None until the first measurement sets a velocity base
        self.landmarks: np.ndarray | None = None
        self.blendshapes: dict[str, float] | None = None
        self.transform: np.ndarray | None = None
        self._blendshape_filter = OneEuroFilter(min_cutoff=3.0, beta=2.0)

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    def predict(self, time: float) -> None:
        dt = min(max(0.0, time - self.time), MAX_EXTRAPOLATION_S)
        # Damp velocity while unobserved so a lost face does not fly off the frame.
        damping = 1.0 if self.missing_since is None else 0.5
        self.box = self.box + self.velocity * dt * damping
        self.time = time
        self.observed = False

    def measure_box(self, box: np.ndarray, time: float, score: float | None = None) -> None:
        box = np.asarray(box, dtype=np.float32)
        last_time = self._measured_at
        if last_time is not None and time > last_time:
            # Velocity from consecutive measurements, smoothed (EMA) against their noise.
            measured = (box - self._measured_box) / (time - last_time)
            self.velocity = measured if self.hits < 2 else 0.6 * self.velocity + 0.4 * measured
            self.hits += 1
        self.box = box.copy()
        self._measured_box, self._measured_at = box.copy(), time
        if score is not None:
            self.score = 0.7 * self.score + 0.3 * float(score)
        self.time = time
        self.missing_since = None
        self.observed = True

    def measure_landmarks(self, landmarks: np.ndarray, blendshapes: dict[str, float],
                          transform: np.ndarray, time: float, predicted: np.ndarray | None = None) -> None:
        """``predicted``: this track's previous landmarks moved by the picture's motion (the face
        stack's FlowPredictor); the fit is blended with it (``steady_landmarks``) against jitter."""
        landmarks = np.asarray(landmarks, dtype=np.float32)
        if predicted is not None and self.landmarks is not None:
            self.landmarks = steady_landmarks(landmarks, predicted, max(self.size, 1.0))
        else:
            self.landmarks = landmarks.copy()
        names = list(blendshapes)
        values = self._blendshape_filter(np.array([blendshapes[n] for n in names], dtype=np.float32), time)
        self.blendshapes = {n: float(np.clip(v, 0.0, 1.0)) for n, v in zip(names, values)}
        self.transform = transform
        self.measure_box(landmark_box(landmarks), time)

    def forget_landmarks(self) -> None:
        self.landmarks = self.blendshapes = self.transform = None
        self._blendshape_filter.reset()


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """Tight box around the landmarks: forehead to chin, cheek to cheek, like a detector box."""
    lo = landmarks[:, :2].min(axis=0)
    hi = landmarks[:, :2].max(axis=0)
    return np.array([lo[0], lo[1], hi[0], hi[1]], dtype=np.float32)


def greedy_matches(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, col) taken best IoU first, each row and column once, IoU >= threshold.

    Faces seldom overlap, so this equals the optimal (Hungarian) assignment in practice, and it
    spares loading scipy.optimize (0.3 s at every start).
    """
    pairs = []
    iou = iou.copy()
    while iou.size:
        r, c = np.unravel_index(int(np.argmax(iou)), iou.shape)
        if iou[r, c] < threshold:
            break
        pairs.append((int(r), int(c)))
        iou[r, :] = -1
        iou[:, c] = -1
    return pairs


class FaceTracker:
    """Associates detections with tracks by IoU (best pairs first) and ages out lost tracks."""

    def __init__(self, iou_threshold: float = 0.25, max_missing: float = 0.5, duplicate_iou: float = 0.6):
        self.iou_threshold = iou_threshold
        self.max_missing = max_missing
        self.duplicate_iou = duplicate_iou
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)
        self._time: float | None = None

    def predict(self, time: float) -> float:
        """Move every track to ``time``; returns the step since the previous frame (s)."""
        dt = 0.0 if self._time is None else max(0.0, time - self._time)
        self._time = time
        for track in self.tracks:
            track.predict(time)
        return dt

    def associate(self, detections: list[Detection], time: float) -> tuple[list[tuple[Track, Detection]], list[Track]]:
        """Pair detections with existing tracks; start a track for each unpaired one.

        Returns (pairs, born). Paired tracks are not measured here: the caller
        refines them with landmarks first and falls back to the detection box.
        """
        pairs: list[tuple[Track, Detection]] = []
        unmatched = list(range(len(detections)))
        if self.tracks and detections:
            iou = box_iou(np.stack([t.box for t in self.tracks]), np.stack([d.box for d in detections]))
            for r, c in greedy_matches(iou, self.iou_threshold):
                pairs.append((self.tracks[r], detections[c]))
                unmatched.remove(c)
        born = [Track(next(self._ids), detections[c].box, detections[c].score, time) for c in unmatched]
        self.tracks.extend(born)
        return pairs, born

    def end_frame(self, time: float) -> list[Track]:
        """Mark unobserved tracks missing, merge duplicates, drop lost ones; returns the dropped."""
        for track in self.tracks:
            if not track.observed and track.missing_since is None:
                track.missing_since = time
        dropped = [t for t in self.tracks
                   if t.missing_since is not None and time - t.missing_since > self.max_missing]
        # Two tracks on one face (a detection that matched neither box well): keep the older.
        alive = [t for t in self.tracks if t not in dropped]
        for i, a in enumerate(alive):
            for b in alive[i + 1:]:
                if b not in dropped and a not in dropped and box_iou(a.box, b.box)[0, 0] > self.duplicate_iou:
                    dropped.append(b if b.id > a.id else a)
        self.tracks = [t for t in self.tracks if t not in dropped]
        return dropped
