"""facepaint for OBS Studio 29+: a "facepaint" video filter for webcams and media sources.

Load it in OBS (Tools > Scripts > +). It needs only the standard library and numpy inside OBS: the
engine runs in its own process (``facepaint serve``, started by this script when it is not running)
and frames travel through shared memory (facepaint_client.py, beside this file).

How a frame goes through the filter (all on OBS's graphics thread, which only copies):
1. the frame's planes are copied into the service's input ring (and into a small local ring);
2. the frame shown is the one from ``delay`` frames ago, with its own result copied in;
3. if that result is not there (late, or the service is down), anonymize hides the faces where they
   were last seen and, with no known faces, the whole frame: a raw face never reaches the stream.
Add the same delay to the audio (Advanced Audio Properties > Sync Offset): delay / fps seconds.

OBS scripts cannot define sources in Python; this one registers a real filter by calling libobs's
``obs_register_source_s`` through ctypes with ``struct obs_source_info`` laid out as in libobs-dev's
obs-source.h (the fields up to ``filter_video``; libobs copies only the size given). The
registration and its callbacks live for the whole OBS process: "Reload Scripts" does not register
again (it would crash OBS) and the running filters keep working.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facepaint_client  # noqa: E402

try:
    import obspython as obs  # noqa: F401  (present inside OBS; the script API's entry points below)
except ImportError:  # imported by tests outside OBS
    obs = None

FILTER_ID = b"facepaint_filter"
PORTRAIT_ID = b"facepaint_portrait"
TAP_ID = b"facepaint_tap"
MODES = ("anonymize", "paint")
# enum video_format (media-io/video-io.h) -> our names; planes and their row counts per format.
FORMATS = {1: "I420", 2: "NV12", 4: "YUY2", 5: "UYVY", 6: "RGBA", 7: "BGRA", 8: "BGRX", 9: "Y800", 10: "I444",
           12: "I422"}


# A late frame covers the last result's faces, grown by how far a face can have moved since.
# Beyond HOLD_FRAMES frames the whole frame is hidden. (It held faces for 30 frames, grown by a fixed
# 35%: a fast head turn at a stream's start carried half a face out of its box, raw, into a recording.)
HOLD_FRAMES = 6
HOLD_GROW = 0.35  # x face size, around the box however recent the result
HOLD_SPEED = 0.2  # x face size per frame: a fast head turn


def held_box(box, age: int) -> tuple[float, float, float, float]:
    """Where a face seen ``age`` frames ago can be now: its box grown by HOLD_GROW plus HOLD_SPEED
    per frame of its size (more above: hair and forehead)."""
    x0, y0, x1, y1 = box
    grow = (HOLD_GROW + HOLD_SPEED * max(age, 0)) * max(x1 - x0, y1 - y0)
    return (x0 - grow, y0 - grow * 1.3, x1 + grow, y1 + grow)


def plane_shapes(fmt: str, width: int, height: int) -> list[tuple[int, int]]:
    """(bytes per row used, rows) of each plane."""
    ch = (height + 1) // 2
    cw = (width + 1) // 2
    return {"I420": [(width, height), (cw, ch), (cw, ch)], "NV12": [(width, height), (cw * 2, ch)],
            "I444": [(width, height)] * 3, "I422": [(width, height), (cw, height), (cw, height)],
            "YUY2": [(width * 2, height)], "UYVY": [(width * 2, height)], "RGBA": [(width * 4, height)],
            "BGRA": [(width * 4, height)], "BGRX": [(width * 4, height)], "Y800": [(width, height)]}[fmt]


def box_regions(fmt: str, box: tuple[float, float, float, float] | None) -> list[tuple[slice, slice]]:
    """(rows, byte columns) of ``box`` (x0, y0, x1, y1; None = the whole frame) in each plane."""
    x0, y0, x1, y1 = box if box is not None else (0, 0, 1 << 30, 1 << 30)
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), int(np.ceil(x1)), int(np.ceil(y1))
    if fmt in ("RGBA", "BGRA", "BGRX"):
        return [(slice(y0, y1), slice(x0 * 4, x1 * 4))]
    if fmt in ("YUY2", "UYVY"):  # whole macropixels (two pixels share their chroma)
        return [(slice(y0, y1), slice((x0 - x0 % 2) * 2, (x1 + x1 % 2) * 2))]
    regions = [(slice(y0, y1), slice(x0, x1))]
    if fmt == "Y800":
        return regions
    sx, sy = {"I420": (2, 2), "NV12": (2, 2), "I422": (2, 1), "I444": (1, 1)}[fmt]
    rows, cols = slice(y0 // sy, -(-y1 // sy)), slice(x0 // sx, -(-x1 // sx))
    if fmt == "NV12":
        return regions + [(rows, slice(cols.start * 2, cols.stop * 2))]
    return regions + [(rows, cols)] * 2


def conceal(planes: list[np.ndarray], fmt: str, box: tuple[float, float, float, float] | None) -> None:
    """Fill ``box`` (x0, y0, x1, y1; None = whole frame) with black, in the frame's own planes."""
    regions = box_regions(fmt, box)
    if fmt in ("RGBA", "BGRA", "BGRX"):
        area = planes[0][regions[0]]
        area[:] = 0
        area[:, 3::4] = 255
    elif fmt in ("YUY2", "UYVY"):
        area = planes[0][regions[0]]
        luma = 0 if fmt == "YUY2" else 1
        area[:, luma::2] = 16
        area[:, 1 - luma::2] = 128
    else:
        for i, region in enumerate(regions):
            planes[i][region] = 16 if i == 0 else 128


def paste(planes: list[np.ndarray], source: list[np.ndarray], fmt: str, box: tuple[float, float, float, float]) -> None:
    """Copy ``box`` of ``source`` (planes of the same layout) over ``planes``."""
    for plane, src, region in zip(planes, source, box_regions(fmt, box)):
        plane[region] = src[region]


def frame_planes(frame) -> tuple[str | None, list[int], list[np.ndarray]]:
    """(format name, linesizes, planes as numpy views on OBS's memory) of a struct obs_source_frame."""
    fmt = FORMATS.get(frame.format)
    if fmt is None:
        return None, [], []
    shapes = plane_shapes(fmt, frame.width, frame.height)
    linesizes = [frame.linesize[i] for i in range(len(shapes))]
    planes = [np.ctypeslib.as_array(ctypes.cast(frame.data[i], ctypes.POINTER(ctypes.c_uint8)),
                                    shape=(rows, linesizes[i])) for i, (_, rows) in enumerate(shapes)]
    return fmt, linesizes, planes


class EngineLink:
    """A source's or filter's connection to ``facepaint serve``: (re)opened when the frame format or
    the settings change, opened on a worker thread so OBS's graphics thread never waits."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.client: facepaint_client.EngineClient | None = None
        self.stream_key = None
        self.seq = 0
        self.stats = {"frames": 0, "late": 0, "blank": 0}
        self._connecting = False
        self._logged_state = ""
        self._log_calls = 0

    def mode(self) -> str:
        return self.settings.get("mode", "anonymize")

    def options(self) -> dict:
        raise NotImplementedError

    def slots(self) -> int:
        return 8

    def update(self, settings: dict) -> None:
        changed = settings != self.settings
        self.settings = settings
        if changed and self.client is not None:
            self.close()  # reconnect with the new options at the next frame

    def status(self) -> str:
        client = self.client
        if client is None or self._connecting:
            return "connecting"
        if client.state != "running":
            return f"down: {client.error}"
        return (f"running: {client.fps():.1f} frames/s, latency {client.latency_ms:.0f} ms, "
                f"{self.stats['late']} late of {self.stats['frames']}")

    def log_status(self) -> None:
        """To the script log (Tools > Scripts): every change of state, and every 300 calls."""
        self._log_calls += 1
        state = self.status().split(":")[0]
        if state != self._logged_state or self._log_calls % 300 == 0:
            self._logged_state = state
            print(f"facepaint: engine {self.status()}")

    def ensure_open(self, frame, fmt: str, linesizes: list[int]) -> None:
        key = (fmt, frame.width, frame.height, tuple(linesizes))
        if key == self.stream_key:
            return
        self.close()
        self._connecting = True
        self.stream_key = key
        socket_path = self.settings.get("socket") or facepaint_client_socket()
        executable = self.settings.get("executable") or "facepaint"
        rows = [r for _, r in plane_shapes(fmt, frame.width, frame.height)]
        message = {"op": "open", "mode": self.mode(), "options": self.options(), "format": fmt,
                   "width": frame.width, "height": frame.height,
                   "planes": [[ls, r] for ls, r in zip(linesizes, rows)],
                   "matrix": [float(v) for v in frame.color_matrix], "slots": self.slots()}
        client = facepaint_client.EngineClient(socket_path)

        def work():
            if not facepaint_client.service_running(socket_path):
                facepaint_client.start_service(executable, socket_path)
            client.connect(message, timeout=60.0)
            self._connecting = False

        self.client = client
        threading.Thread(target=work, daemon=True, name="facepaint-connect").start()

    def submit(self, planes: list[np.ndarray], timestamp_ns: int, limit: int) -> bool:
        """Copy the planes into the service's ring and send them, if it has room."""
        client = self.client
        if client is None or self._connecting or not client.can_submit(limit):
            return False
        slot = np.frombuffer(client.input_slot(self.seq), np.uint8)
        offset = 0
        for p in planes:
            slot[offset:offset + p.size] = p.reshape(-1)
            offset += p.size
        del slot
        client.submit(self.seq, timestamp_ns / 1e9)
        return True

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None
        self.stream_key = None


class FacepaintFilter(EngineLink):
    """One filter instance: its delay ring, its connection to the service, its last known faces."""

    def __init__(self, settings: dict):
        super().__init__(settings)
        self.local: dict[int, list[np.ndarray]] = {}  # originals of recent frames, by seq
        self.submitted: set[int] = set()
        self.last_faces: list[list[float]] = []
        self.last_faces_seq = -(1 << 30)
        self.last_output: list[np.ndarray] | None = None  # the last result shown (anonymize)
        self.gpu: dict = {}  # texrender, stage surface, texture of the render path (synchronous sources)
        self.source_ptr = None  # this filter's obs_source_t

    @property
    def delay(self) -> int:
        # Results come back 8 frames after their frame (the engine holds frames back for faces the
        # detector finds late) plus processing time: below 12 frames every result would be late.
        return max(12, int(self.settings.get("delay", 24)))

    def slots(self) -> int:
        return self.delay + 8

    def options(self) -> dict:
        options: dict = {}
        if self.mode() == "anonymize":
            options = {"seed": int(self.settings.get("seed", 0)), "fallback": self.settings.get("fallback", "mosaic")}
            if self.settings.get("style"):
                options["style"] = self.settings["style"]
        elif self.mode() == "paint":
            options = {"style": self.settings.get("style") or "starry-night"}
        keep = [p for p in str(self.settings.get("keep", "")).split(";") if p.strip()]
        if keep:
            options["keep"] = keep
        return options

    def filter(self, frame) -> None:
        """Edit ``frame`` (struct obs_source_frame) in place: show the frame from ``delay`` ago, treated.
        Whatever goes wrong, the frame is blanked rather than shown as it came."""
        fmt, linesizes, planes = frame_planes(frame)
        if fmt is None:  # a format we cannot read: blank every plane we can size
            for i in range(8):
                if frame.data[i] and frame.linesize[i]:
                    ctypes.memset(frame.data[i], 0, frame.linesize[i] * frame.height)
            return
        try:
            self._filter(frame, fmt, linesizes, planes)
        except Exception as exc:
            print(f"facepaint: {exc.__class__.__name__}: {exc} (frame hidden)")
            conceal(planes, fmt, None)

    def _filter(self, frame, fmt, linesizes, planes) -> None:
        if (fmt, frame.width, frame.height, tuple(linesizes)) != self.stream_key:
            self.local.clear()
            self.submitted.clear()
            self.last_output = None
        self.ensure_open(frame, fmt, linesizes)
        seq = self.seq
        self.stats["frames"] += 1
        self.log_status()
        # 1. keep the original, and hand it to the service when it has room. A frame's result comes
        # back once ``lookback`` more frames have reached the engine and the queue before it is done,
        # so at most delay - lookback frames go in flight: a service slower than the source then
        # skips frames (shown below as late) and the frames it takes still come back in time. (With
        # delay - 2 in flight, a service at 27 of 30 frames/s ran a queue longer than the delay and
        # made three results in four late.)
        self.local[seq] = [p.copy() for p in planes]
        self.local.pop(seq - self.delay - 1, None)
        lookback = self.client.lookback if self.client is not None else 0
        if self.submit(planes, frame.timestamp, max(lookback + 2, self.delay - lookback)):
            self.submitted.add(seq)
        self.seq += 1
        client = self.client
        # 2. show the frame from ``delay`` ago with its own result
        shown = seq - self.delay
        original = self.local.get(shown)
        if original is None:  # the first frames of a stream: nothing old enough to show yet
            conceal(planes, fmt, None)
            self.stats["blank"] += 1
            return
        result = client.result(shown) if client is not None and shown in self.submitted else None
        self.submitted.discard(shown)
        if result is not None and client is not None and client.state == "running":
            out = np.frombuffer(client.output_slot(shown), np.uint8)
            offset = 0
            for p in planes:
                p[:] = out[offset:offset + p.size].reshape(p.shape)
                offset += p.size
            del out
            # Where it hid faces found late counts too: a late frame must cover those as well.
            self.last_faces, self.last_faces_seq = result["faces"] + result.get("hidden", []), shown
            if self.mode() == "anonymize":
                self.last_output = [p.copy() for p in planes]
            return
        # 3. late or down: the original, hidden where faces were (anonymize) or entirely. Where faces
        # were, the last result's pixels stand in (its synthetic faces, held): the same area is
        # covered as with black boxes, so nothing more can leak, and a late frame does not flash.
        for p, o in zip(planes, original):
            p[:] = o
        self.stats["late"] += 1
        if self.mode() != "anonymize":
            return  # paint: showing the unpainted frame leaks nothing
        age = shown - self.last_faces_seq
        if age <= HOLD_FRAMES and self.last_faces:  # faces seen a few frames ago: cover where they can be
            for face in self.last_faces:
                box = held_box(face, age)
                if self.last_output is not None:
                    paste(planes, self.last_output, fmt, box)
                else:
                    conceal(planes, fmt, box)
        else:  # no known positions: a face may be anywhere
            conceal(planes, fmt, None)
            self.stats["blank"] += 1

    def render(self, lib, source, effect) -> None:
        """video_render for synchronous sources (screen, window, game captures, images): draw the
        source into a texture, read it back, run the same delay logic on it as BGRA, draw the result.
        Asynchronous sources were already treated in filter_video: passed through here."""
        target, parent = lib.obs_filter_get_target(source), lib.obs_filter_get_parent(source)
        if not target or not parent or lib.obs_source_get_output_flags(parent) & OBS_SOURCE_ASYNC:
            lib.obs_source_skip_video_filter(source)
            return
        width, height = lib.obs_source_get_base_width(target), lib.obs_source_get_base_height(target)
        if not width or not height:
            lib.obs_source_skip_video_filter(source)
            return
        gpu = self.gpu
        if gpu.get("size") != (width, height):
            self.release_gpu(lib, inside_graphics=True)
            gpu["texrender"] = lib.gs_texrender_create(GS_BGRA, GS_ZS_NONE)
            gpu["stage"] = lib.gs_stagesurface_create(width, height, GS_BGRA)
            gpu["texture"] = lib.gs_texture_create(width, height, GS_BGRA, 1, None, GS_DYNAMIC)
            gpu["size"] = (width, height)
        lib.gs_texrender_reset(gpu["texrender"])
        if not lib.gs_texrender_begin(gpu["texrender"], width, height):
            lib.obs_source_skip_video_filter(source)
            return
        lib.gs_clear(GS_CLEAR_COLOR, ZERO_COLOUR, 0.0, 0)
        lib.gs_ortho(0.0, float(width), 0.0, float(height), -100.0, 100.0)
        # libobs draws the filter's input (the source, or the filter below) into our texture.
        if lib.obs_source_process_filter_begin(source, GS_RGBA, OBS_NO_DIRECT_RENDERING):
            lib.obs_source_process_filter_end(source, lib.obs_get_base_effect(OBS_EFFECT_DEFAULT), width, height)
        lib.gs_texrender_end(gpu["texrender"])
        lib.gs_stage_texture(gpu["stage"], lib.gs_texrender_get_texture(gpu["texrender"]))
        data, linesize = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_uint32()
        if not lib.gs_stagesurface_map(gpu["stage"], ctypes.byref(data), ctypes.byref(linesize)):
            lib.obs_source_skip_video_filter(source)
            return
        pixels = np.ctypeslib.as_array(data, shape=(height, linesize.value)).copy()
        lib.gs_stagesurface_unmap(gpu["stage"])
        frame = RenderedFrame(width, height, time.monotonic_ns())
        try:
            self._filter(frame, "BGRA", [linesize.value], [pixels])
        except Exception as exc:
            print(f"facepaint: {exc.__class__.__name__}: {exc} (frame hidden)")
            conceal([pixels], "BGRA", None)
        lib.gs_texture_set_image(gpu["texture"], pixels.ctypes.data, linesize.value, False)
        base = lib.obs_get_base_effect(OBS_EFFECT_DEFAULT)
        lib.gs_effect_set_texture(lib.gs_effect_get_param_by_name(base, b"image"), gpu["texture"])
        while lib.gs_effect_loop(base, b"Draw"):
            lib.gs_draw_sprite(gpu["texture"], 0, width, height)

    def release_gpu(self, lib, inside_graphics: bool = False) -> None:
        if not self.gpu:
            return
        if not inside_graphics:
            lib.obs_enter_graphics()
        for kind, destroy in (("texrender", lib.gs_texrender_destroy), ("stage", lib.gs_stagesurface_destroy),
                              ("texture", lib.gs_texture_destroy)):
            if self.gpu.get(kind):
                destroy(self.gpu[kind])
        if not inside_graphics:
            lib.obs_leave_graphics()
        self.gpu.clear()

    def close(self) -> None:
        if self.client is not None:
            shown = max(0, self.stats["frames"] - self.delay)
            print(f"facepaint: stream closed: {self.stats['late']} late of {shown} frames shown after the "
                  f"first {self.delay} (delay {self.delay}), {self.stats['blank']} blank")
        super().close()


class RenderedFrame:
    """What the delay logic needs to know of a frame read back from the GPU (BGRA)."""

    def __init__(self, width: int, height: int, timestamp: int):
        self.width, self.height, self.timestamp = width, height, timestamp
        self.color_matrix = [1.0 if i % 5 == 0 else 0.0 for i in range(16)]  # unused for BGRA


class TappedFrame:
    """A copy of a driving source's latest frame, as the portrait needs it (see ``tap_frame``)."""

    def __init__(self, frame, fmt: str, linesizes: list[int], planes: list[np.ndarray]):
        self.fmt, self.linesizes = fmt, linesizes
        self.width, self.height, self.timestamp = frame.width, frame.height, frame.timestamp
        self.color_matrix = list(frame.color_matrix)
        self.planes = [p.copy() for p in planes]


TAPPED: dict[str, TappedFrame] = {}  # driving source name -> its latest frame


def tap_frame(driver: str, frame) -> None:
    fmt, linesizes, planes = frame_planes(frame)
    if fmt is not None:
        TAPPED[driver] = TappedFrame(frame, fmt, linesizes, planes)


class PortraitSource(EngineLink):
    """The "facepaint portrait" source: a portrait picture driven by the face in another source
    (a webcam), read with obs_source_get_frame on OBS's tick and drawn by the service's animate mode.
    No delay buffer: nothing here needs hiding, so the newest result is shown."""

    def __init__(self, settings: dict, source_ptr):
        super().__init__(settings)
        self.source_ptr = source_ptr
        self.last_timestamp = None
        self.shown = -1
        self.picture: np.ndarray | None = None  # BGRA, kept alive while OBS copies it
        self.tap = self.tap_owner = None
        self.tapped: str | None = None

    def mode(self) -> str:
        return "animate"

    def options(self) -> dict:
        return {"portrait": self.settings.get("portrait", ""), "size": int(self.settings.get("size", 512) or 512)}

    def tick(self, lib) -> None:
        name = self.settings.get("driver", "")
        if not name or not self.settings.get("portrait"):
            return
        self.ensure_tap(lib, name)
        latest = TAPPED.get(name)
        if latest is not None and latest.timestamp != self.last_timestamp:
            self.last_timestamp = latest.timestamp
            self.ensure_open(latest, latest.fmt, latest.linesizes)
            if self.submit(latest.planes, latest.timestamp, 4):
                self.seq += 1
                self.stats["frames"] += 1
            self.log_status()  # also when the engine is down (a portrait it cannot read, say)
        self.output(lib)

    def ensure_tap(self, lib, name: str) -> None:
        """Attach a (private, invisible) tap filter to the driving source: OBS hands async frames
        only to the source's own filters, so that is where the driver's frames can be read."""
        if self.tapped == name:
            return
        self.remove_tap(lib)
        driver = lib.obs_get_source_by_name(name.encode())
        if not driver:
            return
        settings = lib.obs_data_create()
        lib.obs_data_set_string(settings, b"driver", name.encode())
        self.tap = lib.obs_source_create_private(TAP_ID, b"facepaint tap", settings)
        lib.obs_data_release(settings)
        lib.obs_source_filter_add(driver, self.tap)
        self.tap_owner = driver  # keep our reference until the tap is removed
        self.tapped = name

    def remove_tap(self, lib) -> None:
        if self.tap:
            lib.obs_source_filter_remove(self.tap_owner, self.tap)
            lib.obs_source_release(self.tap)
            lib.obs_source_release(self.tap_owner)
        self.tap = self.tap_owner = None
        self.tapped = None

    def destroy(self, lib) -> None:
        self.remove_tap(lib)
        self.close()

    def output(self, lib) -> None:
        """Push the newest result to OBS (it copies the frame)."""
        client = self.client
        if client is None or client.state != "running" or client.output is None:
            return
        newest = next((s for s in range(self.seq - 1, self.shown, -1) if client.result(s) is not None), None)
        if newest is None:
            return
        self.shown = newest
        width, height = client.output["width"], client.output["height"]
        self.picture = np.frombuffer(client.output_slot(newest), np.uint8)[:width * height * 4].copy()
        frame = ObsSourceFrame()
        frame.data[0] = self.picture.ctypes.data
        frame.linesize[0] = width * 4
        frame.width, frame.height = width, height
        frame.format = 7  # VIDEO_FORMAT_BGRA
        frame.timestamp = time.monotonic_ns()
        frame.full_range = True
        lib.obs_source_output_video(self.source_ptr, ctypes.byref(frame))


def facepaint_client_socket() -> str:
    return os.environ.get("FACEPAINT_SOCKET", f"/tmp/facepaint-{os.getuid()}.sock")


# -- libobs through ctypes ------------------------------------------------------------------------

class ObsSourceFrame(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p * 8), ("linesize", ctypes.c_uint32 * 8), ("width", ctypes.c_uint32),
                ("height", ctypes.c_uint32), ("timestamp", ctypes.c_uint64), ("format", ctypes.c_int),
                ("color_matrix", ctypes.c_float * 16), ("full_range", ctypes.c_bool),
                ("max_luminance", ctypes.c_uint16), ("color_range_min", ctypes.c_float * 3),
                ("color_range_max", ctypes.c_float * 3), ("flip", ctypes.c_bool), ("flags", ctypes.c_uint8),
                ("trc", ctypes.c_uint8), ("refs", ctypes.c_long), ("prev_frame", ctypes.c_bool)]


GET_NAME = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
CREATE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
DESTROY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
GET_DEFAULTS = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
GET_PROPERTIES = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
UPDATE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
FILTER_VIDEO = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ObsSourceFrame))
VIDEO_TICK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_float)
VIDEO_RENDER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class ObsSourceInfo(ctypes.Structure):
    """struct obs_source_info (obs-source.h), up to filter_video."""

    _fields_ = [("id", ctypes.c_char_p), ("type", ctypes.c_int), ("output_flags", ctypes.c_uint32),
                ("get_name", GET_NAME), ("create", CREATE), ("destroy", DESTROY),
                ("get_width", ctypes.c_void_p), ("get_height", ctypes.c_void_p),
                ("get_defaults", GET_DEFAULTS), ("get_properties", GET_PROPERTIES), ("update", UPDATE),
                ("activate", ctypes.c_void_p), ("deactivate", ctypes.c_void_p), ("show", ctypes.c_void_p),
                ("hide", ctypes.c_void_p), ("video_tick", VIDEO_TICK), ("video_render", VIDEO_RENDER),
                ("filter_video", FILTER_VIDEO)]


OBS_SOURCE_TYPE_INPUT = 0
OBS_SOURCE_VIDEO = 1 << 0
OBS_SOURCE_ASYNC = 1 << 2
GS_RGBA, GS_BGRA, GS_ZS_NONE, GS_DYNAMIC, GS_CLEAR_COLOR, OBS_EFFECT_DEFAULT = 3, 5, 0, 1 << 1, 1 << 0, 0
OBS_NO_DIRECT_RENDERING = 0  # enum obs_allow_direct_render


def _aligned_zero_vec4() -> ctypes.c_void_p:
    """A struct vec4 of zeros at a 16-byte aligned address (libobs may load it with SSE)."""
    buffer = ctypes.create_string_buffer(32)
    address = ctypes.addressof(buffer)
    _KEEP.append(buffer)
    return ctypes.c_void_p(address + (-address) % 16)


_KEEP: list = []
ZERO_COLOUR = _aligned_zero_vec4()
OBS_SOURCE_TYPE_FILTER = 1
OBS_SOURCE_ASYNC_VIDEO = (1 << 2) | (1 << 0)
OBS_CAP_DISABLED = 1 << 10  # not offered in the Filters menu (the portrait source attaches it itself)
SETTINGS = {"mode": "anonymize", "style": "", "fallback": "mosaic", "keep": "", "delay": 24, "seed": 0,
            "executable": "", "socket": ""}
PORTRAIT_SETTINGS = {"portrait": "", "driver": "", "size": 512, "executable": "", "socket": ""}


def _libobs():
    lib = ctypes.CDLL("libobs.so.0")
    for name, res, args in [
        ("obs_register_source_s", None, [ctypes.c_void_p, ctypes.c_size_t]),
        ("obs_data_get_string", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_char_p]),
        ("obs_data_get_int", ctypes.c_longlong, [ctypes.c_void_p, ctypes.c_char_p]),
        ("obs_data_set_default_string", None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
        ("obs_data_set_default_int", None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_longlong]),
        ("obs_properties_create", ctypes.c_void_p, []),
        ("obs_properties_add_list", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                                      ctypes.c_int, ctypes.c_int]),
        ("obs_property_list_add_string", ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
        ("obs_properties_add_text", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                                      ctypes.c_int]),
        ("obs_properties_add_path", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                                      ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p]),
        ("obs_properties_add_int", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                                     ctypes.c_int, ctypes.c_int, ctypes.c_int]),
        ("obs_get_source_by_name", ctypes.c_void_p, [ctypes.c_char_p]),
        ("obs_source_release", None, [ctypes.c_void_p]),
        ("obs_filter_get_target", ctypes.c_void_p, [ctypes.c_void_p]),
        ("obs_filter_get_parent", ctypes.c_void_p, [ctypes.c_void_p]),
        ("obs_source_get_output_flags", ctypes.c_uint32, [ctypes.c_void_p]),
        ("obs_source_skip_video_filter", None, [ctypes.c_void_p]),
        ("obs_source_get_base_width", ctypes.c_uint32, [ctypes.c_void_p]),
        ("obs_source_get_base_height", ctypes.c_uint32, [ctypes.c_void_p]),
        ("obs_source_process_filter_begin", ctypes.c_bool, [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]),
        ("obs_source_process_filter_end", None, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]),
        ("obs_get_base_effect", ctypes.c_void_p, [ctypes.c_int]),
        ("obs_enter_graphics", None, []),
        ("obs_leave_graphics", None, []),
        ("gs_texrender_create", ctypes.c_void_p, [ctypes.c_int, ctypes.c_int]),
        ("gs_texrender_destroy", None, [ctypes.c_void_p]),
        ("gs_texrender_reset", None, [ctypes.c_void_p]),
        ("gs_texrender_begin", ctypes.c_bool, [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]),
        ("gs_texrender_end", None, [ctypes.c_void_p]),
        ("gs_texrender_get_texture", ctypes.c_void_p, [ctypes.c_void_p]),
        ("gs_stagesurface_create", ctypes.c_void_p, [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int]),
        ("gs_stagesurface_destroy", None, [ctypes.c_void_p]),
        ("gs_stage_texture", None, [ctypes.c_void_p, ctypes.c_void_p]),
        ("gs_stagesurface_map", ctypes.c_bool, [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)),
                                                ctypes.POINTER(ctypes.c_uint32)]),
        ("gs_stagesurface_unmap", None, [ctypes.c_void_p]),
        ("gs_texture_create", ctypes.c_void_p, [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32,
                                                ctypes.c_void_p, ctypes.c_uint32]),
        ("gs_texture_destroy", None, [ctypes.c_void_p]),
        ("gs_texture_set_image", None, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_bool]),
        ("gs_clear", None, [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_float, ctypes.c_uint8]),
        ("gs_ortho", None, [ctypes.c_float] * 6),
        ("gs_effect_get_param_by_name", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]),
        ("gs_effect_set_texture", None, [ctypes.c_void_p, ctypes.c_void_p]),
        ("gs_effect_loop", ctypes.c_bool, [ctypes.c_void_p, ctypes.c_char_p]),
        ("gs_draw_sprite", None, [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]),
        ("obs_data_create", ctypes.c_void_p, []),
        ("obs_data_release", None, [ctypes.c_void_p]),
        ("obs_data_set_string", None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
        ("obs_source_create_private", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]),
        ("obs_source_filter_add", None, [ctypes.c_void_p, ctypes.c_void_p]),
        ("obs_source_filter_remove", None, [ctypes.c_void_p, ctypes.c_void_p]),
        ("obs_source_output_video", None, [ctypes.c_void_p, ctypes.POINTER(ObsSourceFrame)]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def _name_callback(text: bytes):
    """A get_name callback returning ``text`` from memory that lives as long as the callback (its
    closure holds the buffer)."""
    name = ctypes.create_string_buffer(text)

    @GET_NAME
    def get_name(type_data):
        return ctypes.addressof(name)

    return get_name


def _settings_of(lib, data, defaults: dict = SETTINGS) -> dict:
    out = {}
    for key, default in defaults.items():
        if isinstance(default, int):
            out[key] = int(lib.obs_data_get_int(data, key.encode()))
        else:
            out[key] = (lib.obs_data_get_string(data, key.encode()) or b"").decode()
    return out


def register() -> None:
    """Register the filter once per OBS process (kept in ``sys`` so "Reload Scripts" finds it)."""
    if getattr(sys, "_facepaint_obs", None) is not None:
        return
    lib = _libobs()
    instances: dict[int, EngineLink] = {}
    counter = [0]
    get_name = _name_callback(b"facepaint")

    @CREATE
    def create(settings, source):
        counter[0] += 1
        instance = FacepaintFilter(_settings_of(lib, settings))
        instance.source_ptr = source
        instances[counter[0]] = instance
        return counter[0]

    @DESTROY
    def destroy(data):
        instance = instances.pop(data, None)
        if instance is not None:
            instance.release_gpu(lib)
            instance.close()

    @VIDEO_RENDER
    def video_render(data, effect):
        instance = instances.get(data)
        if instance is None:
            return
        try:
            instance.render(lib, instance.source_ptr, effect)
        except Exception as exc:  # draw nothing rather than the raw source
            print(f"facepaint: {exc.__class__.__name__}: {exc} (frame not drawn)")

    @GET_DEFAULTS
    def get_defaults(settings):
        for key, value in SETTINGS.items():
            if isinstance(value, int):
                lib.obs_data_set_default_int(settings, key.encode(), value)
            else:
                lib.obs_data_set_default_string(settings, key.encode(), value.encode())

    @GET_PROPERTIES
    def get_properties(data):
        props = lib.obs_properties_create()
        mode = lib.obs_properties_add_list(props, b"mode", b"Mode", 0, 2)  # editable=0, OBS_COMBO_FORMAT_STRING
        for m in MODES:
            lib.obs_property_list_add_string(mode, m.capitalize().encode(), m.encode())
        lib.obs_properties_add_text(props, b"style", b"Style (paint; anonymize: paint after)", 0)
        fallback = lib.obs_properties_add_list(props, b"fallback", b"Fallback", 0, 2)
        for f in ("mosaic", "blur", "solid"):
            lib.obs_property_list_add_string(fallback, f.encode(), f.encode())
        lib.obs_properties_add_text(props, b"keep", b"Faces to keep (reference photos, ';' between)", 0)
        lib.obs_properties_add_int(props, b"delay", b"Delay (frames; add it to audio sync)", 12, 120, 1)
        lib.obs_properties_add_int(props, b"seed", b"Seed", 0, 1000000, 1)
        lib.obs_properties_add_path(props, b"executable", b"facepaint executable", 0, b"", b"")
        instance = instances.get(data)
        status = instance.status() if instance is not None else "not running"
        lib.obs_properties_add_text(props, b"status", f"Engine: {status}".encode(), 2)  # OBS_TEXT_INFO
        return props

    @UPDATE
    def update(data, settings):
        instance = instances.get(data)
        if instance is not None:
            instance.update(_settings_of(lib, settings))

    @FILTER_VIDEO
    def filter_video(data, frame):
        instance = instances.get(data)
        if instance is not None:
            try:
                instance.filter(frame.contents)
            except Exception as exc:  # never raise into libobs (filter() already hid the frame)
                print(f"facepaint: {exc.__class__.__name__}: {exc}")
        return ctypes.cast(frame, ctypes.c_void_p).value

    # OBS_SOURCE_VIDEO without ASYNC: offered on every video source. Asynchronous ones (webcams,
    # media) come through filter_video, synchronous ones (captures, images) through video_render.
    info = ObsSourceInfo(id=FILTER_ID, type=OBS_SOURCE_TYPE_FILTER, output_flags=OBS_SOURCE_VIDEO,
                         get_name=get_name, create=create, destroy=destroy, get_defaults=get_defaults,
                         get_properties=get_properties, update=update, video_render=video_render,
                         filter_video=filter_video)
    lib.obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))
    # Everything libobs may call back into stays alive for the life of the process.
    sys._facepaint_obs = (lib, info, instances, get_name, create, destroy, get_defaults,  # type: ignore[attr-defined]
                          get_properties, update, filter_video, video_render,
                          _register_portrait(lib, instances, counter))


def _register_portrait(lib, instances: dict, counter: list) -> tuple:
    """The "facepaint portrait" source (animate for streamers)."""
    get_name = _name_callback(b"facepaint portrait")

    @CREATE
    def create(settings, source):
        counter[0] += 1
        instances[counter[0]] = PortraitSource(_settings_of(lib, settings, PORTRAIT_SETTINGS), source)
        return counter[0]

    @DESTROY
    def destroy(data):
        instance = instances.pop(data, None)
        if instance is not None:
            instance.destroy(lib)

    @GET_DEFAULTS
    def get_defaults(settings):
        lib.obs_data_set_default_int(settings, b"size", 512)

    @GET_PROPERTIES
    def get_properties(data):
        props = lib.obs_properties_create()
        lib.obs_properties_add_path(props, b"portrait", b"Portrait (photo or painting)", 0,
                                    b"Pictures (*.jpg *.jpeg *.png *.webp *.bmp *.tif)", b"")
        lib.obs_properties_add_text(props, b"driver", b"Driving source (name of a webcam or media source)", 0)
        lib.obs_properties_add_int(props, b"size", b"Size (longer side, px)", 128, 2048, 16)
        lib.obs_properties_add_path(props, b"executable", b"facepaint executable", 0, b"", b"")
        instance = instances.get(data)
        status = instance.status() if instance is not None else "not running"
        lib.obs_properties_add_text(props, b"status", f"Engine: {status}".encode(), 2)
        return props

    @UPDATE
    def update(data, settings):
        instance = instances.get(data)
        if instance is not None:
            instance.update(_settings_of(lib, settings, PORTRAIT_SETTINGS))

    @VIDEO_TICK
    def video_tick(data, seconds):
        instance = instances.get(data)
        if instance is not None:
            try:
                instance.tick(lib)
            except Exception as exc:  # never raise into libobs
                print(f"facepaint portrait: {exc.__class__.__name__}: {exc}")

    info = ObsSourceInfo(id=PORTRAIT_ID, type=OBS_SOURCE_TYPE_INPUT, output_flags=OBS_SOURCE_ASYNC_VIDEO,
                         get_name=get_name, create=create, destroy=destroy, get_defaults=get_defaults,
                         get_properties=get_properties, update=update, video_tick=video_tick)
    lib.obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))

    # The tap: a filter that only copies its source's frames for the portrait (frames pass unchanged).
    tap_get_name = _name_callback(b"facepaint tap")
    taps: dict[int, str] = {}

    @CREATE
    def tap_create(settings, source):
        counter[0] += 1
        taps[counter[0]] = (lib.obs_data_get_string(settings, b"driver") or b"").decode()
        return counter[0]

    @DESTROY
    def tap_destroy(data):
        TAPPED.pop(taps.pop(data, ""), None)

    @FILTER_VIDEO
    def tap_filter_video(data, frame):
        driver = taps.get(data)
        if driver:
            try:
                tap_frame(driver, frame.contents)
            except Exception as exc:
                print(f"facepaint tap: {exc.__class__.__name__}: {exc}")
        return ctypes.cast(frame, ctypes.c_void_p).value

    tap = ObsSourceInfo(id=TAP_ID, type=OBS_SOURCE_TYPE_FILTER, output_flags=OBS_SOURCE_ASYNC_VIDEO | OBS_CAP_DISABLED,
                        get_name=tap_get_name, create=tap_create, destroy=tap_destroy, filter_video=tap_filter_video)
    lib.obs_register_source_s(ctypes.byref(tap), ctypes.sizeof(tap))
    return (info, get_name, create, destroy, get_defaults, get_properties, update, video_tick,
            tap, tap_get_name, tap_create, tap_destroy, tap_filter_video)


# -- the OBS script API ---------------------------------------------------------------------------

def script_description():
    return ("<b>facepaint</b>: adds a 'facepaint' filter (anonymize or paint faces) to webcams and media "
            "sources. The engine runs in its own process (facepaint serve). Add the filter's delay to the "
            "source's audio sync offset.")


def script_load(settings):
    register()
