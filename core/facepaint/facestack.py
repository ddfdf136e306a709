"""The face stack: detect -> track -> landmarks, one ``Face`` per tracked face per frame.

Detection is the expensive, far-seeing stage, so it runs every ``detect_every``
frames (and at once whenever a track loses its landmarks); in between, each
track is followed by fitting landmarks on a crop around its predicted box.
"""

from __future__ import annotations

import time as _time
from contextlib import contextmanager

import numpy as np

from .detect import BackgroundDetector, CenterFaceDetector, Detection, box_iou
from .landmarks import FaceLandmarker
from .pose import pose_from_matrix
from .smooth import FlowPredictor
from .track import MAX_EXTRAPOLATION_S, FaceTracker, Track
from .types import Face, Frame


class StageTimer:
    """Milliseconds per named stage for the current frame (``make bench`` reads these)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = _time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + (_time.perf_counter() - start) * 1000.0


class FaceStack:
    """Stateful per stream: feed frames in order, get that frame's faces.

    detect_every: run the detector every N frames (1 = every frame, for single
        images and offline files where recall matters more than speed).
    detect_max_side: longest side the detector sees (smaller = faster, misses tiny faces).
    min_landmark_size: faces smaller than this (px) are reported with a box only.
    detect_async: run the detector on a worker thread, on the other core, while this
        thread fits landmarks. The first frame of a stream is still detected synchronously.
    detect_latency: with detect_async, apply each detection exactly this many frames after
        its frame (waiting for it if need be): the same input then always gives the same output
        (files). None: apply results whenever they are ready, never waiting (live streams).
    """

    def __init__(self, device: str = "cpu", detect_every: int = 1, detect_max_side: int = 1280,
                 detect_threshold: float = 0.5, min_landmark_size: float = 12.0, max_missing: float = 0.5,
                 detect_async: bool = False, detect_latency: int | None = None):
        self.detector = CenterFaceDetector(device=device, threshold=detect_threshold, max_side=detect_max_side,
                                           threads=1 if detect_async else 0)
        self.background = BackgroundDetector(self.detector) if detect_async else None
        self.detect_latency = detect_latency
        self._count = 0
        self._submitted_at: int | None = None
        self.landmarker = FaceLandmarker()
        self.tracker = FaceTracker(max_missing=max_missing)
        self.detect_every = max(1, int(detect_every))
        self.min_landmark_size = min_landmark_size
        self._frames_since_detection = None  # None: detect on the first frame
        self._need_detection = True
        self._stream = 0  # bumped by reset(): late background results of an old stream are dropped
        self.born: list[int] = []
        self.ended: list[int] = []
        # The previous frame in grey, for steadying landmarks by the picture's motion.
        self._flow = FlowPredictor()
        self._previous_grey: np.ndarray | None = None

    def final_detections(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """End of stream: boxes of faces no track covers, from the detection still in flight and
        one more detection on each of ``images`` (the first and last held-back frames, so a
        moving face is found at both ends). The engine conceals them in the frames it holds."""
        found: list[Detection] = []
        if self.background is not None and self._submitted_at is not None:
            finished = self.background.take(wait=True)
            self._submitted_at = None
            if finished is not None and finished[0] == self._stream:
                found += finished[1]
        for image in images:
            found += self.detector(image)
        known = [t.box for t in self.tracker.tracks]
        return [d.box for d in found
                if not known or box_iou(d.box, np.stack(known)).max() < self.tracker.iou_threshold]

    def reset(self) -> list[int]:
        """Start a new stream (a cut, another file); returns the ids of the tracks that ended."""
        ended = [t.id for t in self.tracker.tracks]
        self.tracker = FaceTracker(max_missing=self.tracker.max_missing)
        self._frames_since_detection = None
        self._need_detection = True
        self._stream += 1
        self._submitted_at = None
        self._previous_grey = None
        return ended

    def close(self) -> None:
        if self.background is not None:
            self.background.close()
        self.landmarker.close()

    def __call__(self, frame: Frame, timer: StageTimer | None = None) -> list[Face]:
        timer = timer or StageTimer()
        image, now = frame.image, frame.time
        step = self.tracker.predict(now)
        if step > MAX_EXTRAPOLATION_S and self._frames_since_detection is not None:
            # A gap in the stream (the host skipped frames): its faces may be anywhere. Detect on
            # this frame at once, as on a stream's first, and drop the detection in flight.
            self._frames_since_detection, self._submitted_at = None, None
            self._stream += 1
            self._previous_grey = None  # nor steady the landmarks by the motion across the gap
        due = (self._need_detection or self._frames_since_detection is None
               or self._frames_since_detection + 1 >= self.detect_every)
        first = self._frames_since_detection is None
        self._count += 1
        detections: list[Detection] | None = None
        with timer("detect"):
            if self.background is not None and not first:
                if self.detect_latency is None:
                    finished = self.background.take()
                elif self._submitted_at is not None and self._count - self._submitted_at >= self.detect_latency:
                    finished = self.background.take(wait=True)
                    self._submitted_at = None
                else:
                    finished = None
                if finished is not None and finished[0] == self._stream:
                    detections = finished[1]
                waiting = self.detect_latency is not None and self._submitted_at is not None
                if due and not waiting and self.background.submit(image, tag=self._stream):
                    self._frames_since_detection = 0
                    if self.detect_latency is not None:
                        self._submitted_at = self._count
                else:
                    self._frames_since_detection += 1
            elif due:
                detections = self.detector(image)
                self._frames_since_detection = 0
            else:
                self._frames_since_detection += 1
        detections_for: dict[int, np.ndarray] = {}
        self.born = []
        if detections is not None:
            with timer("track"):
                pairs, born = self.tracker.associate(detections, now)
            for track, det in pairs:
                # A late (background) box is older than a landmark-tracked face's own box; faces
                # without landmarks (too small, turned away) have nothing better.
                if self.background is None or track.landmarks is None:
                    detections_for[track.id] = det.box
                track.score = 0.7 * track.score + 0.3 * det.score
            for track in born:
                detections_for[track.id] = track.box
            self.born = [t.id for t in born]

        self._need_detection = False
        with timer("landmarks"):
            grey = frame.grey if self.tracker.tracks else None
            for track in self.tracker.tracks:
                self._refine(track, image, detections_for.get(track.id), now, grey)
            self._previous_grey = grey
        with timer("track"):
            self.ended = [t.id for t in self.tracker.end_frame(now)]
        return [self._face(t, frame) for t in self.tracker.tracks]

    def _refine(self, track: Track, image: np.ndarray, detected_box: np.ndarray | None, now: float,
                grey: np.ndarray | None = None) -> None:
        """Fit landmarks around the track (or its fresh detection); fall back to the box alone."""
        box = detected_box if detected_box is not None else track.box
        fit = None
        if max(box[2] - box[0], box[3] - box[1]) >= self.min_landmark_size:
            fit = self.landmarker(image, box)
        if fit is not None:
            predicted = None
            # A track with landmarks had them fitted on the previous frame (a failed fit forgets them).
            if track.landmarks is not None and self._previous_grey is not None and grey is not None \
                    and self._previous_grey.shape == grey.shape:
                predicted = self._flow(self._previous_grey, grey, track.landmarks)
            track.measure_landmarks(fit.landmarks, fit.blendshapes, fit.transform, now, predicted)
            return
        if track.landmarks is not None and detected_box is None:
            # Lost the fit between detections: look for the face again on the next frame.
            self._need_detection = True
        track.forget_landmarks()
        if detected_box is not None:
            track.measure_box(detected_box, now)

    def _face(self, track: Track, frame: Frame) -> Face:
        h, w = frame.height, frame.width
        box = track.box.copy()
        box[[0, 2]] = np.clip(box[[0, 2]], 0, w)
        box[[1, 3]] = np.clip(box[[1, 3]], 0, h)
        return Face(
            track_id=track.id,
            box=box,
            score=track.score,
            detected=track.observed,
            landmarks=None if track.landmarks is None else track.landmarks.copy(),
            blendshapes=None if track.blendshapes is None else dict(track.blendshapes),
            pose=None if track.transform is None else pose_from_matrix(track.transform),
            transform=None if track.transform is None else track.transform.copy(),
        )
