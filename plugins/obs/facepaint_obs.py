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
MODES = ("anonymize", "paint")
# enum video_format (media-io/video-io.h) -> our names; planes and their row counts per format.
FORMATS = {1: "I420", 2: "NV12", 4: "YUY2", 5: "UYVY", 6: "RGBA", 7: "BGRA", 8: "BGRX", 9: "Y800", 10: "I444",
           12: "I422"}


def plane_shapes(fmt: str, width: int, height: int) -> list[tuple[int, int]]:
    """(bytes per row used, rows) of each plane."""
    ch = (height + 1) // 2
    cw = (width + 1) // 2
    return {"I420": [(width, height), (cw, ch), (cw, ch)], "NV12": [(width, height), (cw * 2, ch)],
            "I444": [(width, height)] * 3, "I422": [(width, height), (cw, height), (cw, height)],
            "YUY2": [(width * 2, height)], "UYVY": [(width * 2, height)], "RGBA": [(width * 4, height)],
            "BGRA": [(width * 4, height)], "BGRX": [(width * 4, height)], "Y800": [(width, height)]}[fmt]


def conceal(planes: list[np.ndarray], fmt: str, box: tuple[int, int, int, int] | None) -> None:
    """Fill ``box`` (x0, y0, x1, y1; None = whole frame) with black, in the frame's own planes."""
    x0, y0, x1, y1 = box if box is not None else (0, 0, 1 << 30, 1 << 30)
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), int(np.ceil(x1)), int(np.ceil(y1))
    if fmt in ("RGBA", "BGRA", "BGRX"):
        px = planes[0]
        px[y0:y1, x0 * 4:x1 * 4] = 0
        px[y0:y1, x0 * 4 + 3:x1 * 4:4] = 255
    elif fmt in ("YUY2", "UYVY"):
        px = planes[0]
        x0 -= x0 % 2
        luma_first = fmt == "YUY2"
        px[y0:y1, x0 * 2 + (0 if luma_first else 1):x1 * 2:2] = 16
        px[y0:y1, x0 * 2 + (1 if luma_first else 0):x1 * 2:2] = 128
    else:
        planes[0][y0:y1, x0:x1] = 16
        if fmt == "Y800":
            return
        sx, sy = {"I420": (2, 2), "NV12": (2, 2), "I422": (2, 1), "I444": (1, 1)}[fmt]
        if fmt == "NV12":
            planes[1][y0 // sy:-(-y1 // sy), (x0 // sx) * 2:(-(-x1 // sx)) * 2] = 128
        else:
            for p in planes[1:]:
                p[y0 // sy:-(-y1 // sy), x0 // sx:-(-x1 // sx)] = 128


class FacepaintFilter:
    """One filter instance: its delay ring, its connection to the service, its last known faces."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.client: facepaint_client.EngineClient | None = None
        self.stream_key = None
        self.seq = 0
        self.local: dict[int, list[np.ndarray]] = {}  # originals of recent frames, by seq
        self.submitted: set[int] = set()
        self.last_faces: list[list[float]] = []
        self.last_faces_seq = -(1 << 30)
        self.stats = {"frames": 0, "late": 0, "blank": 0}
        self._connecting = False
        self._logged_state = ""

    @property
    def delay(self) -> int:
        # Results come back 8 frames after their frame (the engine holds frames back for faces the
        # detector finds late) plus processing time: below 12 frames every result would be late.
        return max(12, int(self.settings.get("delay", 24)))

    def update(self, settings: dict) -> None:
        changed = {k: v for k, v in settings.items() if self.settings.get(k) != v}
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

    def _connect(self, key, fmt, width, height, linesizes, matrix) -> None:
        self._connecting = True
        self.stream_key = key
        socket_path = self.settings.get("socket") or facepaint_client_socket()
        executable = self.settings.get("executable") or "facepaint"
        slots = self.delay + 8
        options = {}
        mode = self.settings.get("mode", "anonymize")
        if mode == "anonymize":
            options = {"seed": int(self.settings.get("seed", 0)), "fallback": self.settings.get("fallback", "mosaic")}
            if self.settings.get("style"):
                options["style"] = self.settings["style"]
        elif mode == "paint":
            options = {"style": self.settings.get("style") or "starry-night"}
        keep = [p for p in str(self.settings.get("keep", "")).split(";") if p.strip()]
        if keep:
            options["keep"] = keep
        rows = [r for _, r in plane_shapes(fmt, width, height)]
        message = {"op": "open", "mode": mode, "options": options, "format": fmt, "width": width, "height": height,
                   "planes": [[ls, r] for ls, r in zip(linesizes, rows)], "matrix": matrix, "slots": slots}
        client = facepaint_client.EngineClient(socket_path)

        def work():
            if not facepaint_client.service_running(socket_path):
                facepaint_client.start_service(executable, socket_path)
            client.connect(message, timeout=60.0)
            self._connecting = False

        self.client = client
        threading.Thread(target=work, daemon=True, name="facepaint-connect").start()

    def filter(self, frame) -> None:
        """Edit ``frame`` (struct obs_source_frame) in place: show the frame from ``delay`` ago, treated.
        Whatever goes wrong, the frame is blanked rather than shown as it came."""
        fmt = FORMATS.get(frame.format)
        width, height = frame.width, frame.height
        if fmt is None:  # a format we cannot read: blank every plane we can size
            for i in range(8):
                if frame.data[i] and frame.linesize[i]:
                    ctypes.memset(frame.data[i], 0, frame.linesize[i] * height)
            return
        shapes = plane_shapes(fmt, width, height)
        linesizes = [frame.linesize[i] for i in range(len(shapes))]
        planes = [np.ctypeslib.as_array(ctypes.cast(frame.data[i], ctypes.POINTER(ctypes.c_uint8)),
                                        shape=(rows, linesizes[i])) for i, (_, rows) in enumerate(shapes)]
        try:
            self._filter(frame, fmt, width, height, linesizes, planes)
        except Exception as exc:
            print(f"facepaint: {exc.__class__.__name__}: {exc} (frame hidden)")
            conceal(planes, fmt, None)

    def _filter(self, frame, fmt, width, height, linesizes, planes) -> None:
        key = (fmt, width, height, tuple(linesizes))
        if key != self.stream_key:
            self.close()
            matrix = [float(v) for v in frame.color_matrix]
            self._connect(key, fmt, width, height, linesizes, matrix)
        seq = self.seq
        self.seq += 1
        self.stats["frames"] += 1
        state = self.status().split(":")[0]
        if state != self._logged_state or seq % 300 == 0:  # to the script log (Tools > Scripts)
            self._logged_state = state
            print(f"facepaint: engine {self.status()}")
        # 1. keep the original, and hand it to the service when it has room
        self.local[seq] = [p.copy() for p in planes]
        self.local.pop(seq - self.delay - 1, None)
        client = self.client
        # At most delay - 2 frames in flight: a service that falls behind then skips frames (hidden
        # below as late) instead of building a backlog that would make every result late.
        if client is not None and not self._connecting and client.can_submit(self.delay - 2):
            slot = np.frombuffer(client.input_slot(seq), np.uint8)
            offset = 0
            for p in planes:
                slot[offset:offset + p.size] = p.reshape(-1)
                offset += p.size
            del slot
            client.submit(seq, frame.timestamp / 1e9)
            self.submitted.add(seq)
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
            self.last_faces, self.last_faces_seq = result["faces"], shown
            return
        # 3. late or down: the original, hidden where faces were (anonymize) or entirely
        for p, o in zip(planes, original):
            p[:] = o
        self.stats["late"] += 1
        if self.settings.get("mode", "anonymize") != "anonymize":
            return  # paint: showing the unpainted frame leaks nothing
        if shown - self.last_faces_seq < 30 and self.last_faces:  # faces seen within the last second
            for x0, y0, x1, y1 in self.last_faces:
                grow = 0.35 * max(x1 - x0, y1 - y0)
                conceal(planes, fmt, (x0 - grow, y0 - grow * 1.3, x1 + grow, y1 + grow))
        else:  # no known positions: a face may be anywhere
            conceal(planes, fmt, None)
            self.stats["blank"] += 1

    def close(self) -> None:
        if self.client is not None:
            shown = max(0, self.stats["frames"] - self.delay)
            print(f"facepaint: stream closed: {self.stats['late']} late of {shown} frames shown after the "
                  f"first {self.delay} (delay {self.delay}), {self.stats['blank']} blank")
            self.client.close()
        self.client = None
        self.stream_key = None
        self.local.clear()
        self.submitted.clear()


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


class ObsSourceInfo(ctypes.Structure):
    """struct obs_source_info (obs-source.h), up to filter_video."""

    _fields_ = [("id", ctypes.c_char_p), ("type", ctypes.c_int), ("output_flags", ctypes.c_uint32),
                ("get_name", GET_NAME), ("create", CREATE), ("destroy", DESTROY),
                ("get_width", ctypes.c_void_p), ("get_height", ctypes.c_void_p),
                ("get_defaults", GET_DEFAULTS), ("get_properties", GET_PROPERTIES), ("update", UPDATE),
                ("activate", ctypes.c_void_p), ("deactivate", ctypes.c_void_p), ("show", ctypes.c_void_p),
                ("hide", ctypes.c_void_p), ("video_tick", ctypes.c_void_p), ("video_render", ctypes.c_void_p),
                ("filter_video", FILTER_VIDEO)]


OBS_SOURCE_TYPE_FILTER = 1
OBS_SOURCE_ASYNC_VIDEO = (1 << 2) | (1 << 0)
SETTINGS = {"mode": "anonymize", "style": "", "fallback": "mosaic", "keep": "", "delay": 24, "seed": 0,
            "executable": "", "socket": ""}


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
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def _settings_of(lib, data) -> dict:
    out = {}
    for key, default in SETTINGS.items():
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
    instances: dict[int, FacepaintFilter] = {}
    counter = [0]
    name = ctypes.create_string_buffer(b"facepaint")

    @GET_NAME
    def get_name(type_data):
        return ctypes.addressof(name)

    @CREATE
    def create(settings, source):
        counter[0] += 1
        instances[counter[0]] = FacepaintFilter(_settings_of(lib, settings))
        return counter[0]

    @DESTROY
    def destroy(data):
        instance = instances.pop(data, None)
        if instance is not None:
            instance.close()

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

    info = ObsSourceInfo(id=FILTER_ID, type=OBS_SOURCE_TYPE_FILTER, output_flags=OBS_SOURCE_ASYNC_VIDEO,
                         get_name=get_name, create=create, destroy=destroy, get_defaults=get_defaults,
                         get_properties=get_properties, update=update, filter_video=filter_video)
    lib.obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))
    # Everything libobs may call back into stays alive for the life of the process.
    sys._facepaint_obs = (lib, info, name, instances, get_name, create, destroy, get_defaults,  # type: ignore[attr-defined]
                          get_properties, update, filter_video)


# -- the OBS script API ---------------------------------------------------------------------------

def script_description():
    return ("<b>facepaint</b>: adds a 'facepaint' filter (anonymize or paint faces) to webcams and media "
            "sources. The engine runs in its own process (facepaint serve). Add the filter's delay to the "
            "source's audio sync offset.")


def script_load(settings):
    register()
