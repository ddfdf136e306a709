"""Media in and out with PyAV: images and anything ffmpeg reads, timestamps kept.

``MediaReader`` yields ``Frame``s with the source's own pts and time base;
``MediaWriter`` encodes them back with those pts (variable frame rate stays
variable) and copies every other stream (audio, subtitles) packet for packet.
Outputs are written to a hidden temporary file and renamed into place only
when complete, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import FacepaintError
from .types import Frame

# Output codec by extension: (container format or None for ffmpeg's guess, video codec, pixel format).
IMAGE_OUTPUTS = {
    ".png": ("png", "rgb24"), ".jpg": ("mjpeg", "yuvj444p"), ".jpeg": ("mjpeg", "yuvj444p"),
    ".webp": ("libwebp", "yuv420p"), ".bmp": ("bmp", "bgr24"), ".tif": ("tiff", "rgb24"), ".tiff": ("tiff", "rgb24"),
}
VIDEO_OUTPUTS = {
    ".mp4": ("libx264", "yuv420p"), ".mov": ("libx264", "yuv420p"), ".mkv": ("libx264", "yuv420p"),
    ".webm": ("libvpx-vp9", "yuv420p"), ".avi": ("mpeg4", "yuv420p"), ".nut": ("ffv1", "yuv444p"),
    ".gif": ("gif", "rgb8"),
}


def frame_to_rgb(frame) -> np.ndarray:
    """A decoded av.VideoFrame of any pixel format (gray, alpha, 16-bit, yuv) as 8-bit RGB.

    Limited range is swscale's default and takes its fast path (0.4 vs 0.7 ms at 720p); the range
    is named only when the source says full range, so full-range video is not crushed.
    """
    if int(frame.color_range) == 2:  # AVCOL_RANGE_JPEG
        return frame.reformat(format="rgb24", src_color_range=frame.color_range).to_ndarray()
    return frame.to_ndarray(format="rgb24")


def _open_error(path: Path, exc: Exception) -> FacepaintError:
    if not path.exists():
        return FacepaintError(f"{path}: no such file")
    if path.is_dir():
        return FacepaintError(f"{path}: is a folder, not a media file")
    return FacepaintError(f"{path}: not a readable image or video ({exc.__class__.__name__})")


class MediaReader:
    """Opens a still image or a video; ``is_image`` tells which."""

    def __init__(self, path: str | os.PathLike):
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise _open_error(self.path, FileNotFoundError())
        try:
            self.container = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise _open_error(self.path, exc) from None
        if not self.container.streams.video:
            self.container.close()
            raise FacepaintError(f"{self.path}: has no video stream")
        self.video = self.container.streams.video[0]
        self._index = -1  # of the last decoded frame
        self.video.thread_type = "AUTO"
        fmt = self.container.format.name
        self.is_image = fmt == "image2" or fmt.endswith("_pipe")
        self.time_base: Fraction = self.video.time_base or Fraction(1, 25)
        rate = self.video.average_rate or self.video.guessed_rate
        self.rate: Fraction | None = Fraction(rate) if rate else None

    @property
    def width(self) -> int:
        return int(self.video.codec_context.width)

    @property
    def height(self) -> int:
        return int(self.video.codec_context.height)

    def estimated_frames(self) -> int | None:
        if self.is_image:
            return 1
        if self.video.frames:
            return int(self.video.frames)
        if self.container.duration and self.rate:
            return int(self.container.duration / 1_000_000 * self.rate)
        return None

    def other_streams(self) -> list:
        return [s for s in self.container.streams if s is not self.video and s.type in ("audio", "subtitle")]

    def packets(self):
        """Demux the video and every copyable stream, in file order."""
        return self.container.demux([self.video, *self.other_streams()])

    def decode(self, packet) -> Iterator[Frame]:
        import av

        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            raise FacepaintError(f"{self.path}: corrupt video data ({exc.__class__.__name__})") from None
        for frame in frames:
            yield self._to_frame(frame)

    def frames(self) -> Iterator[Frame]:
        for packet in self.container.demux(self.video):
            yield from self.decode(packet)

    def _to_frame(self, frame) -> Frame:
        index = self._index = self._index + 1
        pts = frame.pts
        if pts is None:  # raw streams without timestamps: derive from the frame rate
            pts = int(index / (self.rate or 25) / self.time_base)
        image = frame_to_rgb(frame)
        return Frame(image=image, index=index, pts=pts, time_base=self.time_base)

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """First frame of a file as RGB uint8."""
    with MediaReader(path) as reader:
        for frame in reader.frames():
            return frame.image
    raise FacepaintError(f"{path}: contains no decodable frame")


class AtomicPath:
    """A temporary sibling of ``target`` renamed onto it by ``commit()`` (same filesystem)."""

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        if self.target.is_dir():
            raise FacepaintError(f"{self.target}: is a folder; give an output file name")
        if not self.target.parent.exists():
            raise FacepaintError(f"{self.target.parent}: output folder does not exist")
        self.temp = self.target.with_name(f".{self.target.stem}.partial-{os.getpid()}{self.target.suffix}")

    def commit(self) -> None:
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


class MediaWriter:
    """Writes frames to an image or video chosen by ``path``'s extension.

    For video, ``source`` (the reader) gives the time base and frame rate to keep
    and the streams to copy; call ``copy(packet)`` for their packets.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, source: MediaReader | None = None,
                 crf: int = 18, lossless: bool = False, copy_streams: bool = True):
        import av

        self.out = AtomicPath(path)
        suffix = self.out.target.suffix.lower()
        self.is_image = suffix in IMAGE_OUTPUTS
        if not self.is_image and suffix not in VIDEO_OUTPUTS:
            known = ", ".join(sorted({*IMAGE_OUTPUTS, *VIDEO_OUTPUTS}))
            raise FacepaintError(f"{self.out.target}: unknown output type {suffix or '(none)'}; use one of {known}")
        if self.is_image and source is not None and not source.is_image:
            raise FacepaintError(f"{self.out.target}: the input is a video; give a video output (.mp4, .mkv, ...)")
        codec, pix_fmt = IMAGE_OUTPUTS[suffix] if self.is_image else VIDEO_OUTPUTS[suffix]
        if lossless and not self.is_image:
            if suffix not in (".mkv", ".nut", ".avi"):
                raise FacepaintError(f"{self.out.target}: lossless video needs .mkv (FFV1, RGB)")
            codec, pix_fmt = "ffv1", "bgr0"  # FFV1 in RGB: bit-exact frames, for editors' intermediates
        if pix_fmt in ("yuv420p",) and (width % 2 or height % 2):
            pix_fmt = "yuv444p"  # 4:2:0 needs even sides; keep odd-sized frames exact instead of cropping
        self.pix_fmt = pix_fmt
        try:
            if self.is_image:
                self.container = av.open(str(self.out.temp), "w", format="image2", options={"update": "1"})
            else:
                self.container = av.open(str(self.out.temp), "w")
        except av.error.FFmpegError as exc:
            raise FacepaintError(f"{self.out.target}: cannot write ({exc})") from None
        rate = source.rate if source is not None and source.rate else Fraction(25)
        self.stream = self.container.add_stream(codec, rate=rate)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, pix_fmt
        self.time_base = source.time_base if source is not None else Fraction(1, 25)
        if not self.is_image:
            # Keep the source's clock: with the encoder's default 1/fps time base,
            # variable-rate pts would be snapped to a grid.
            self.stream.time_base = self.time_base
            self.stream.codec_context.time_base = self.time_base
            if codec == "libx264":
                self.stream.options = {"crf": str(crf), "preset": "veryfast"}
        self.copied: dict = {}
        if source is not None and not self.is_image and copy_streams:
            for stream in source.other_streams():
                try:
                    self.copied[stream.index] = self.container.add_stream_from_template(stream)
                except (av.error.FFmpegError, ValueError) as exc:
                    raise FacepaintError(
                        f"{self.out.target}: cannot carry the {stream.type} stream "
                        f"({stream.codec_context.name}) in this container; try .mkv ({exc})") from None
        self._closed = False

    def write(self, image: np.ndarray, frame: Frame) -> None:
        import av

        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        if not self.is_image:
            vf.pts = frame.pts
            vf.time_base = self.time_base
        if self.pix_fmt != "rgb24":
            vf = vf.reformat(format=self.pix_fmt)
        for packet in self.stream.encode(vf):
            self.container.mux(packet)

    def copy(self, packet) -> None:
        """Mux a packet of a copied (non-video) stream unchanged."""
        target = self.copied.get(packet.stream.index)
        if target is None or packet.dts is None:
            return  # flush packets carry no data
        packet.stream = target
        self.container.mux(packet)

    def close(self, ok: bool = True) -> None:
        """Finish the file and move it into place (``ok``), or throw it away."""
        if self._closed:
            return
        self._closed = True
        try:
            if ok:
                for packet in self.stream.encode():
                    self.container.mux(packet)
            self.container.close()
        except Exception:
            self.out.discard()
            raise
        if ok:
            self.out.commit()
        else:
            self.out.discard()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(ok=exc_type is None)
