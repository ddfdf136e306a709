"""Jobs on files: read media, run the engine frame by frame, write image/video/JSON.

This is the glue between ``media`` (PyAV) and ``Engine``; the CLI and the host
adapters call ``run_job`` and never loop over frames themselves.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import FacepaintError
from .media import AtomicPath, MediaReader, MediaWriter
from .samples import is_sample, load_sample
from .types import Frame, FrameResult


@dataclass
class JobSummary:
    frames: int = 0
    faces: int = 0
    tracks: set = field(default_factory=set)
    seconds: float = 0.0
    stage_ms: dict = field(default_factory=dict)
    mode_stats: dict = field(default_factory=dict)

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.faces += len(result.faces)
        self.tracks.update(f.track_id for f in result.faces)
        for name, ms in result.timings.items():
            self.stage_ms[name] = self.stage_ms.get(name, 0.0) + ms

    def __str__(self) -> str:
        per_frame = ", ".join(f"{k} {v / max(self.frames, 1):.1f}" for k, v in self.stage_ms.items())
        treated = "".join(f", {v} {k}" for k, v in self.mode_stats.items())
        return (f"{self.frames} frame(s), {self.faces} face(s) in {len(self.tracks)} track(s){treated}, "
                f"{self.seconds:.1f} s; ms/frame: {per_frame}")


class _JsonFrames:
    """Writes ``{"frames": [...]}`` one frame at a time, so long videos never sit in memory."""

    def __init__(self, path):
        self.out = AtomicPath(path)
        self.file = open(self.out.temp, "w", encoding="utf-8")
        self.file.write('{"frames": [')
        self.count = 0

    def add(self, result: FrameResult) -> None:
        frame = result.frame
        pts = round(frame.time, 6) if frame.pts is not None else 0.0
        record = {"index": frame.index, "pts": pts, "faces": [f.to_json() for f in result.faces]}
        self.file.write(("," if self.count else "") + "\n" + json.dumps(record, separators=(",", ":")))
        self.count += 1

    def close(self, ok: bool) -> None:
        if ok:
            self.file.write("\n]}\n")
        self.file.close()
        self.out.commit() if ok else self.out.discard()


class _LogProgress:
    """Progress for logs and pipes (no terminal): a line on stderr every few seconds."""

    def __init__(self, every: float = 5.0):
        self.every, self.done, self.total, self.name = every, 0, None, ""
        self._last = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, name: str, total: int | None = None) -> int:
        self.name, self.total = name, total
        return 0

    def advance(self, task: int) -> None:
        self.done += 1
        if time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            of = f"/{self.total}" if self.total else ""
            print(f"facepaint: {self.name}: {self.done}{of} frames", file=sys.stderr, flush=True)


def _progress(total: int | None, enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if enabled and not console.is_terminal:
        # Hosts that show our progress (the Blender add-on) ask for more frequent lines.
        return _LogProgress(float(os.environ.get("FACEPAINT_PROGRESS_SECONDS", "5")))
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, disable=not enabled, transient=True)


def run_job(source: str, engine, output: str | Path | None = None, json_path: str | Path | None = None,
            render: Callable[[FrameResult], object] | None = None, progress: bool = True,
            on_result: Callable[[FrameResult], None] | None = None,
            frames: tuple[int, int] | None = None, lossless: bool = False, audio: bool = True) -> JobSummary:
    """Process ``source`` (file or ``sample:NAME``) with ``engine``.

    output: image/video written from ``render(result)`` (default: the engine's image).
    json_path: per-frame faces. Outputs appear only if the whole job succeeds.
    frames: (first, count) video frames to process (by decode order, 0-based); the output then holds
        exactly those, its clock starting at 0 (an editor's strip range). Other streams are not copied.
    lossless: FFV1 RGB video (.mkv); audio: copy audio and subtitle streams (default).
    """
    render = render or (lambda r: r.image)
    summary = JobSummary()
    start = time.perf_counter()
    if output is not None and json_path is not None and Path(output).resolve() == Path(json_path).resolve():
        raise FacepaintError("--json and the image/video output must be different files")
    if not is_sample(source) and output is not None and Path(output).resolve() == Path(source).resolve():
        raise FacepaintError(f"{output}: output would overwrite the input")

    with ExitStack() as stack:
        if is_sample(source):
            reader = None
            image = load_sample(source)
            frames_total = 1
            width, height = image.shape[1], image.shape[0]
        else:
            reader = stack.enter_context(MediaReader(source))
            frames_total = reader.estimated_frames() if frames is None else frames[0] + frames[1]
            width, height = reader.width, reader.height
        writer = None
        if getattr(engine, "mode", None) is not None:
            width, height = engine.mode.output_size(width, height)  # animate draws on its portrait
        if frames is not None:
            audio = False  # a range of frames has no matching audio packets to copy
        if output is not None:
            writer = MediaWriter(output, width, height, source=reader, lossless=lossless, copy_streams=audio)
            stack.callback(lambda: writer.close(ok=False))  # no-op once closed successfully
        sink = None
        if json_path is not None:
            sink = _JsonFrames(json_path)
            stack.callback(lambda: sink.file.closed or sink.close(ok=False))

        def emit(result: FrameResult) -> None:
            summary.add(result)
            if writer is not None and not (writer.is_image and summary.frames > 1):
                writer.write(render(result), result.frame)
            if sink is not None:
                sink.add(result)
            if on_result is not None:
                on_result(result)

        first_pts: list = []

        def handle(frame: Frame) -> None:
            if frames is not None:
                if frame.index < frames[0] or frame.index >= frames[0] + frames[1]:
                    return
                first_pts[:1] = first_pts[:1] or [frame.pts or 0]
                frame = Frame(frame.image, index=frame.index - frames[0],
                              pts=None if frame.pts is None else frame.pts - first_pts[0], time_base=frame.time_base)
            for result in engine.push(frame):
                emit(result)

        with _progress(frames_total, progress and not (reader is None or reader.is_image)) as bar:
            task = bar.add_task(Path(str(source)).name, total=frames_total)
            if reader is None:
                handle(Frame(image=image, index=0, pts=0, time_base=None))
            else:
                end = None if frames is None else frames[0] + frames[1]
                decoded = 0
                for packet in reader.packets():
                    if packet.stream is reader.video:
                        for frame in reader.decode(packet):
                            handle(frame)
                            decoded += 1
                            bar.advance(task)
                        if end is not None and decoded >= end:
                            break  # the range is done: no need to decode the rest
                    elif writer is not None and not writer.is_image:
                        writer.copy(packet)
        for result in engine.flush():
            emit(result)
        if summary.frames == 0:
            raise FacepaintError(f"{source}: contains no decodable video frame")
        if writer is not None:
            writer.close(ok=True)
        if sink is not None:
            sink.close(ok=True)
    summary.seconds = time.perf_counter() - start
    return summary


def run_faces(source: str, json_path=None, draw_path=None, device: str = "auto", detect_every: int = 1,
              progress: bool = True) -> JobSummary:
    """The ``facepaint faces`` job: face stack only, optionally drawn."""
    from .draw import draw_faces
    from .engine import Engine

    with Engine(mode=None, device=device, detect_every=detect_every) as engine:
        return run_job(source, engine, output=draw_path, json_path=json_path,
                       render=lambda r: draw_faces(r.image, r.faces), progress=progress)


def run_mode(mode: str, source: str, output, json_path=None, device: str = "auto", detect_every: int = 5,
             progress: bool = True, frames: tuple[int, int] | None = None, lossless: bool = False,
             **options) -> JobSummary:
    """A mode's file job (``facepaint anonymize``, ``paint``, ``animate``): ``options`` go to the mode."""
    from .engine import Engine

    with Engine.pipelined(mode, detect_every, device=device, **options) as engine:
        summary = run_job(source, engine, output=output, json_path=json_path, progress=progress, frames=frames,
                          lossless=lossless)
        summary.mode_stats = dict(engine.mode.stats)
        return summary
