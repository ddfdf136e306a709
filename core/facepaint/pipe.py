"""``facepaint pipe``: the engine as a filter between two ffmpeg processes.

Reads NUT (or yuv4mpegpipe) on stdin and writes the same on stdout. Video frames keep their pts,
time base, pixel format, colour range and matrix; every other stream (audio, subtitles) is copied
packet for packet. Frames in which the mode changed nothing are passed through bit for bit; a
changed frame goes RGB -> back to the source format with the source's colour metadata.

Live policy (``--overload``): ``block`` never loses a frame (a slow filter slows the producer);
``drop`` reads ahead on a thread and, when more than ``queue`` frames wait, skips the oldest
(the others keep their pts). Either way every frame written went through the mode: a skipped
frame is not written at all, so no face leaves untreated.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import FacepaintError
from .media import frame_to_rgb
from .types import Frame

FORMATS = {"nut": "nut", "y4m": "yuv4mpegpipe"}


@dataclass
class PipeStats:
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    packets_copied: int = 0
    started: float = field(default_factory=time.monotonic)
    latency_ms: list = field(default_factory=list)

    def as_dict(self) -> dict:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        recent = self.latency_ms[-100:]
        return {"frames_in": self.frames_in, "frames_out": self.frames_out, "dropped": self.dropped,
                "packets_copied": self.packets_copied, "fps": round(self.frames_out / elapsed, 2),
                "latency_ms": round(float(np.median(recent)), 1) if recent else None}

    def line(self) -> str:
        d = self.as_dict()
        return (f"facepaint pipe: {d['frames_out']} frames out, {d['fps']} fps, latency {d['latency_ms']} ms, "
                f"{d['dropped']} dropped, {d['packets_copied']} packets copied")


class _Reader(threading.Thread):
    """Demuxes stdin ahead of the filter (``drop`` policy); video frames may be skipped, packets never."""

    def __init__(self, container, video, others, limit: int | None):
        super().__init__(name="facepaint-pipe-reader", daemon=True)
        self.container, self.video, self.others, self.limit = container, video, others, limit
        # block: a short bounded queue (the reader waits, so upstream waits); drop: unbounded,
        # and get() skips frames instead.
        self.items: queue.Queue = queue.Queue(maxsize=0 if limit else 8)
        self.pending_video = 0
        self.dropped = 0
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for packet in self.container.demux([self.video, *self.others]):
                if packet.stream is self.video:
                    for frame in packet.decode():
                        with self.lock:
                            self.pending_video += 1
                        self.items.put(("frame", frame, time.monotonic()))
                elif packet.dts is not None:
                    self.items.put(("packet", packet, None))
        except BaseException as exc:  # handed to the main thread
            self.error = exc
        finally:
            self.items.put(("end", None, None))

    def get(self):
        """Next item; with too many frames waiting, skip frames (never packets) down to the limit."""
        while True:
            kind, payload, stamp = self.items.get()
            if kind != "frame":
                return kind, payload, stamp
            with self.lock:
                self.pending_video -= 1
                over = self.limit is not None and self.pending_video >= self.limit
            if over:
                self.dropped += 1
                continue
            return kind, payload, stamp


def _open_interruptibly(stdin, fmt: str, name: str):
    """av.open on a thread: probing a live stream can wait for input, and Ctrl-C must still work."""
    import av

    done: queue.Queue = queue.Queue()

    def open_it() -> None:
        try:
            done.put((av.open(stdin, "r", format=fmt), None))
        except BaseException as exc:  # handed to the main thread
            done.put((None, exc))

    threading.Thread(target=open_it, name="facepaint-pipe-open", daemon=True).start()
    container, error = done.get()
    if isinstance(error, (av.error.FFmpegError, ValueError, OSError)):
        raise FacepaintError(f"stdin: not a {name.upper()} stream ({error.__class__.__name__})") from None
    if error is not None:
        raise error
    return container


def _from_rgb(image: np.ndarray, like):
    import av

    out = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    out = out.reformat(format=like.format.name, dst_colorspace=like.colorspace, dst_color_range=like.color_range,
                       dst_color_trc=like.color_trc, dst_color_primaries=like.color_primaries)
    out.pts, out.time_base = like.pts, like.time_base
    out.color_range = like.color_range
    out.colorspace = like.colorspace
    return out


def run_pipe(engine, stdin=None, stdout=None, stderr=None, input_format: str = "nut", output_format: str | None = None,
             overload: str = "block", queue_frames: int = 3, stats: str = "text", stats_every: float = 2.0) -> PipeStats:
    """Filter stdin to stdout through ``engine``; returns the final counters."""
    import av

    # ffmpeg's own pipe protocol reads and writes the descriptors directly: a raw 720p frame is
    # 1.4 MB, and Python file objects would cost a callback per buffer of it.
    stdin = stdin if stdin is not None else "pipe:0"
    stdout = stdout if stdout is not None else "pipe:1"
    stderr = stderr or sys.stderr
    output_format = output_format or input_format
    if input_format not in FORMATS or output_format not in FORMATS:
        raise FacepaintError(f"unknown pipe format (choose from {', '.join(FORMATS)})")
    if overload not in ("block", "drop"):
        raise FacepaintError("--overload must be block or drop")
    source = _open_interruptibly(stdin, FORMATS[input_format], input_format)
    if not source.streams.video:
        source.close()
        raise FacepaintError("stdin: the stream has no video")
    video = source.streams.video[0]
    codec = video.codec_context
    others = [s for s in source.streams if s is not video and s.type in ("audio", "subtitle", "data")]
    if output_format == "y4m" and others:
        others = []  # yuv4mpegpipe carries video only
    sink = av.open(stdout, "w", format=FORMATS[output_format])
    out_video = sink.add_stream("rawvideo" if output_format == "nut" else "wrapped_avframe",
                                rate=video.average_rate or video.guessed_rate or 25)
    out_video.width, out_video.height, out_video.pix_fmt = codec.width, codec.height, codec.pix_fmt
    out_video.time_base = video.time_base
    out_video.codec_context.time_base = video.time_base
    for attr in ("color_range", "colorspace", "color_primaries", "color_trc"):
        value = getattr(codec, attr, None)
        if value is not None:
            try:
                setattr(out_video.codec_context, attr, value)
            except (AttributeError, ValueError, TypeError):
                pass
    copied = {s.index: sink.add_stream_from_template(s) for s in others}
    counters = PipeStats()
    originals: dict[int, tuple] = {}
    last_report = time.monotonic()

    def report(force: bool = False) -> None:
        nonlocal last_report
        if stats == "none" or (not force and time.monotonic() - last_report < stats_every):
            return
        last_report = time.monotonic()
        counters.dropped = reader.dropped
        print(json.dumps(counters.as_dict()) if stats == "json" else counters.line(), file=stderr, flush=True)

    def write(result) -> None:
        original, arrived = originals.pop(result.frame.index)
        # Only a frame the engine left exactly as it came may go out as the original bytes; a
        # frame concealed after the fact (a face found late) has no faces of its own but changed.
        out = _from_rgb(result.image, original) if result.changed else original
        for packet in out_video.encode(out):
            sink.mux(packet)
        counters.frames_out += 1
        counters.latency_ms.append((time.monotonic() - arrived) * 1000.0)

    def handle_frame(frame, arrived: float) -> None:
        index = counters.frames_in
        counters.frames_in += 1
        originals[index] = (frame, arrived)
        image = frame_to_rgb(frame)
        for result in engine.push(Frame(image=image, index=index, pts=frame.pts, time_base=frame.time_base)):
            write(result)
        report()

    def handle_packet(packet) -> None:
        target = copied.get(packet.stream.index)
        if target is None:
            return
        packet.stream = target
        sink.mux(packet)
        counters.packets_copied += 1

    # Demuxing runs on its own thread under both policies: the main thread then waits on a queue,
    # which Ctrl-C can interrupt, instead of inside a read that waits for a live source.
    reader = _Reader(source, video, others, queue_frames if overload == "drop" else None)
    # Hand the GIL over sooner than the default 5 ms, so the reader refills the queue while the
    # main thread works instead of queueing behind it.
    sys.setswitchinterval(0.0005)
    reader.start()
    try:
        while True:
            kind, payload, stamp = reader.get()
            if kind == "end":
                break
            if kind == "frame":
                handle_frame(payload, stamp)
            else:
                handle_packet(payload)
        if reader.error is not None:
            raise reader.error
        for result in engine.flush():
            write(result)
        for packet in out_video.encode():
            sink.mux(packet)
        sink.close()
    except av.error.FFmpegError as exc:
        if isinstance(exc, BrokenPipeError) or "Broken pipe" in str(exc):
            raise BrokenPipeError from None
        raise FacepaintError(f"stdin: corrupt or truncated stream ({exc.__class__.__name__})") from None
    finally:
        if not reader.is_alive():
            source.close()  # else the reader is blocked in a read: the process is about to exit
    counters.dropped = reader.dropped
    report(force=True)
    return counters
