"""The engine: frames in, frames out, one stream at a time.

    engine = Engine(device="auto")
    for result in engine.run(frames):      # frames: iterable of Frame
        result.image, result.faces, result.timings

Every host (CLI files, ffmpeg pipes, the OBS/Blender service) feeds this same
object; it never touches files or sockets itself.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Iterable, Iterator

import numpy as np

from .detect import box_iou
from .device import resolve_device
from .facestack import FaceStack, StageTimer
from .modes import Mode, create_mode
from .types import Face, Frame, FrameResult


class Engine:
    """Runs the face stack and (optionally) a mode on each frame.

    mode: a registered mode name, a ``Mode`` instance, or None to pass frames
        through unchanged (the faces are still reported).
    detect_every: frames between full detections (1 = every frame).
    detect_async: detect on a worker thread, in parallel with the rest (see FaceStack).
    detect_latency: with detect_async, apply detections exactly this many frames late
        (deterministic, for files); None applies them whenever ready (live).
    lookback: frames held back before release (``push``/``run``). A face found late (it walked
        in between detections, or the detector missed it for a few frames) is concealed by the
        mode in the held-back frames too, at the box where it was first found: privacy does not
        wait for the detector. Defaults, when a mode is set, to detect_every - 1 plus
        detect_latency: the frames a face can go unseen.
    """

    def __init__(self, mode: str | Mode | None = None, device: str = "auto", detect_every: int = 1,
                 detect_max_side: int = 1280, detect_async: bool = False, detect_latency: int | None = None,
                 lookback: int | None = None, **mode_options):
        self.device = resolve_device(device)
        # The mode first: if its options are wrong, no detector thread or graph has started yet.
        if isinstance(mode, str):
            mode = create_mode(mode, device=self.device, **mode_options)
        self.faces = FaceStack(device=self.device, detect_every=detect_every, detect_max_side=detect_max_side,
                               detect_async=detect_async, detect_latency=detect_latency)
        self.mode: Mode | None = mode
        if lookback is None:
            # A face can appear just after one detection and be found by the next, whose result
            # may itself arrive detect_latency frames late: hold back that many frames.
            lookback = max(0, detect_every - 1 + (detect_latency or 0)) if mode is not None else 0
        self.lookback = lookback
        self._pending: deque[FrameResult] = deque()

    @classmethod
    def pipelined(cls, mode: str | Mode, detect_every: int = 5, **options) -> "Engine":
        """The configuration for files and pipes: the detector runs on the second core and each
        result is applied exactly detect_every - 1 frames later, so output is reproducible."""
        staged = detect_every > 1
        return cls(mode=mode, detect_every=detect_every, detect_async=staged,
                   detect_latency=detect_every - 1 if staged else None, **options)

    def process(self, frame: Frame) -> FrameResult:
        timer = StageTimer()
        start = time.perf_counter()
        faces = self.faces(frame, timer)
        image = frame.image
        if self.mode is not None:
            for track_id in self.faces.born:
                self.mode.begin(track_id)
            with timer("mode"):
                image = self.mode.render(frame, faces)
            for track_id in self.faces.ended:
                self.mode.end(track_id)
        timer.times["total"] = (time.perf_counter() - start) * 1000.0
        changed = self.mode is not None and (bool(faces) or self.mode.alters_whole_frame)
        return FrameResult(frame=frame, image=image, faces=faces, timings=timer.times, changed=changed)

    def reset(self) -> None:
        """Forget all tracks, e.g. at a scene cut or before an unrelated image (call flush first)."""
        for track_id in self.faces.reset():
            if self.mode is not None:
                self.mode.end(track_id)
        if self.mode is not None:
            self.mode.reset()

    def push(self, frame: Frame) -> list[FrameResult]:
        """Process ``frame``; return the results now ready (in order), ``lookback`` frames behind."""
        result = self.process(frame)
        if self.mode is not None and self.faces.born:
            for face in (f for f in result.faces if f.track_id in self.faces.born):
                self._conceal_where_untreated(face)
        self._pending.append(result)
        ready = []
        while len(self._pending) > self.lookback:
            ready.append(self._pending.popleft())
        return ready

    def flush(self) -> list[FrameResult]:
        """The results still held back (end of stream).

        Faces that appeared in those frames may not have met a detector yet (the next detection
        would have come after the end): one last detection, and the mode conceals any face it
        finds in every held-back frame that did not treat it.
        """
        if self.mode is not None and self._pending:
            ends = [self._pending[0].frame.image, self._pending[-1].frame.image]
            for box in self.faces.final_detections(ends if len(self._pending) > 1 else ends[:1]):
                self._conceal_where_untreated(Face(track_id=-1, box=box, score=1.0, detected=False))
        ready = list(self._pending)
        self._pending.clear()
        return ready

    def _conceal_where_untreated(self, face: Face) -> None:
        """Hide ``face`` in every held-back frame in which the mode treated no face at that place."""
        for earlier in self._pending:
            treated = [f.box for f in earlier.faces]
            if not treated or box_iou(face.box, np.stack(treated)).max() < 0.3:
                self.mode.conceal(earlier.image, face)
                earlier.changed = True

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        for frame in frames:
            yield from self.push(frame)
        yield from self.flush()

    def close(self) -> None:
        self.faces.close()
        if self.mode is not None:
            self.mode.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
