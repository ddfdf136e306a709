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
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np

from .detect import box_iou
from .device import resolve_device
from .facestack import FaceStack, StageTimer
from .modes import Mode, create_mode
from .types import Face, Frame, FrameResult


# How far (x its size) a face can move per frame, for hiding a late-found face in the frames held
# before it was found: a fast head turn.
HELD_FACE_SPEED = 0.15


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
    render_thread: with frames held back, the mode draws on a thread of its own (see ``push``).
    """

    def __init__(self, mode: str | Mode | None = None, device: str = "auto", detect_every: int = 1,
                 detect_max_side: int = 1280, detect_async: bool = False, detect_latency: int | None = None,
                 lookback: int | None = None, render_thread: bool = True, **mode_options):
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
        # (result, its drawing on the render thread or None), oldest first.
        self._pending: deque[tuple[FrameResult, Future | None]] = deque()
        self._renderer = ThreadPoolExecutor(1, thread_name_prefix="facepaint-render") \
            if mode is not None and lookback > 0 and render_thread else None

    @classmethod
    def pipelined(cls, mode: str | Mode, detect_every: int = 5, **options) -> "Engine":
        """The configuration for files and pipes: the detector runs on the second core and each
        result is applied exactly detect_every - 1 frames later, so output is reproducible."""
        staged = detect_every > 1
        return cls(mode=mode, detect_every=detect_every, detect_async=staged,
                   detect_latency=detect_every - 1 if staged else None, **options)

    def process(self, frame: Frame) -> FrameResult:
        """Faces and mode for one frame, at once, on this thread."""
        self._drain()
        return self._render(*self._observe(frame))

    def _observe(self, frame: Frame) -> tuple[FrameResult, list[int], list[int], StageTimer]:
        """The face stack's part: the frame's result with its faces (image not drawn yet), the
        tracks born and ended at this frame, and the stage timer."""
        timer = StageTimer()
        start = time.perf_counter()
        faces = self.faces(frame, timer)
        timer.times["total"] = (time.perf_counter() - start) * 1000.0
        result = FrameResult(frame=frame, image=frame.image, faces=faces, timings=timer.times)
        return result, list(self.faces.born), list(self.faces.ended), timer

    def _render(self, result: FrameResult, born: list[int], ended: list[int], timer: StageTimer) -> FrameResult:
        """The mode's part (on the render thread when frames are held back): tracks begin and end
        in frame order, as the mode sees them."""
        if self.mode is None:
            return result
        start = time.perf_counter()
        for track_id in born:
            self.mode.begin(track_id)
        with timer("mode"):
            result.image = self.mode.render(result.frame, result.faces)
        for track_id in ended:
            self.mode.end(track_id)
        timer.times["total"] += (time.perf_counter() - start) * 1000.0
        result.changed = bool(result.faces) or self.mode.alters_whole_frame
        return result

    def reset(self) -> None:
        """Forget all tracks, e.g. at a scene cut or before an unrelated image (call flush first)."""
        self._drain()
        for track_id in self.faces.reset():
            if self.mode is not None:
                self.mode.end(track_id)
        if self.mode is not None:
            self.mode.reset()

    def push(self, frame: Frame) -> list[FrameResult]:
        """Process ``frame``; return the results now ready (in order), ``lookback`` frames behind.

        With frames held back, the mode draws on a second thread while this one runs the face
        stack on the next frame: the landmarker mostly waits on its own C++ graph, so the two
        overlap on two cores. Each stage still sees its frames in order: the output is the same
        as drawing on this thread.
        """
        observed = self._observe(frame)
        result = observed[0]
        if self.mode is not None and self.faces.born:
            born = [f for f in result.faces if f.track_id in self.faces.born]
            if born and self._pending:
                self._drain()  # the held frames are drawn: conceal in them (rare: new faces only)
                n = len(self._pending)
                for face in born:  # found on this frame: the held ones are 1..n frames older
                    self._conceal_where_untreated(face, ages=[n - i for i in range(n)])
        if self._renderer is not None:
            self._pending.append((result, self._renderer.submit(self._render, *observed)))
        else:
            self._pending.append((self._render(*observed), None))
        ready = []
        while len(self._pending) > self.lookback:
            ready.append(self._take())
        return ready

    def _take(self) -> FrameResult:
        result, drawing = self._pending.popleft()
        if drawing is not None:
            drawing.result()  # re-raises what the mode raised
        return result

    def _drain(self) -> None:
        """Wait until every held-back frame is drawn (before touching their pictures or the mode)."""
        for _, drawing in self._pending:
            if drawing is not None:
                drawing.result()

    def flush(self) -> list[FrameResult]:
        """The results still held back (end of stream).

        Faces that appeared in those frames may not have met a detector yet (the next detection
        would have come after the end): one last detection, and the mode conceals any face it
        finds in every held-back frame that did not treat it.
        """
        self._drain()
        if self.mode is not None and self._pending:
            ends = [self._pending[0][0].frame.image, self._pending[-1][0].frame.image]
            n = len(self._pending)
            for box in self.faces.final_detections(ends if len(self._pending) > 1 else ends[:1]):
                # found on the first or the last held frame: each frame is this far from the nearer
                self._conceal_where_untreated(Face(track_id=-1, box=box, score=1.0, detected=False),
                                              ages=[min(i, n - 1 - i) for i in range(n)])
        ready = []
        while self._pending:
            ready.append(self._take())
        return ready

    def _conceal_where_untreated(self, face: Face, ages: list[int]) -> None:
        """Hide ``face`` in every held-back frame (drawn) in which the mode treated no face at that
        place. ``ages``: per held frame, how many frames lie between it and the one ``face`` was
        found on; the box grows by how far a face can move in that time (a fast head turn carried
        half a face out of a box that stayed where it was found, raw, into an OBS recording)."""
        x0, y0, x1, y1 = face.box
        size = max(x1 - x0, y1 - y0)
        for (earlier, _), age in zip(self._pending, ages):
            treated = [f.box for f in earlier.faces]
            if not treated or box_iou(face.box, np.stack(treated)).max() < 0.3:
                if earlier.image is earlier.frame.image:  # never draw on the caller's frame
                    earlier.image = earlier.image.copy()
                grow = HELD_FACE_SPEED * max(age, 0) * size
                moved = np.array([x0 - grow, y0 - grow, x1 + grow, y1 + grow], np.float32)
                self.mode.conceal(earlier.image, Face(track_id=face.track_id, box=moved, score=face.score,
                                                      detected=False))
                earlier.changed = True
                earlier.hidden.append(moved)

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        for frame in frames:
            yield from self.push(frame)
        yield from self.flush()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.shutdown(wait=True)
        self.faces.close()
        if self.mode is not None:
            self.mode.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
