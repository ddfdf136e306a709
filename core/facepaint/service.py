"""``facepaint serve``: the engine as a local service for hosts that embed their own Python (OBS).

Control travels as JSON lines over a Unix socket; frames travel through shared memory (a file in
/dev/shm mapped by both sides: no per-frame serialization). Each client gets its own engine, on its
own thread; a client that disconnects frees its engine and its memory. Protocol:

    client -> {"op": "open", "mode": "anonymize", "options": {...}, "format": "I420", "width": W,
               "height": H, "planes": [[linesize, rows], ...], "matrix": [16 floats], "slots": N}
    service <- {"op": "opened", "path": "/dev/shm/...", "slot_bytes": B, "out_slot_bytes": O, "slots": N,
                "lookback": L, "output": {"format": "BGRA", "width": w, "height": h} (animate only)}
              (or {"op": "error", "message": "..."})
    client -> {"op": "frame", "seq": S, "time": seconds}     the frame's planes are in input slot S % N
    service <- {"op": "result", "seq": S, "faces": [[x0, y0, x1, y1], ...], "hidden": [[...], ...],
                "changed": bool, "ms": M}
              ("hidden": boxes concealed beyond the faces, see FrameResult); the output planes
              (same layout) are in output slot S % N. Results come in order, L frames after their
              frame (held back so that a face the detector finds late is concealed in the frames
              before it too): the host shows frame S after a delay > L.
    client -> {"op": "status"}  ->  {"op": "status", "clients": C, "frames": F, "fps": R}

Memory layout: N input slots of ``slot_bytes`` (the sum of linesize x rows over the planes), then N
output slots of ``out_slot_bytes``: the same layout as the input, except for animate, whose output
is the portrait's own picture in BGRA (``output``; options carry ``portrait``, a picture file). Pixel formats are OBS's (``FORMATS``); ``matrix`` is the frame's YUV -> RGB colour
matrix (row-major 4x4 on normalised Y, U, V, 1), so colours come back exactly as the host decoded them.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import FacepaintError
from .types import Frame

# OBS's video formats this service converts: name -> (planes, chroma subsampling (x, y))
FORMATS = {"I420": 3, "NV12": 2, "I444": 3, "I422": 3, "YUY2": 1, "UYVY": 1, "RGBA": 1, "BGRA": 1, "BGRX": 1,
           "Y800": 1}
DEFAULT_SOCKET = f"/tmp/facepaint-{os.getuid()}.sock"
SERVE_MODES = ("anonymize", "paint", "animate")


def default_socket() -> str:
    return os.environ.get("FACEPAINT_SOCKET", DEFAULT_SOCKET)


class PixelLayout:
    """Converts between a host's planar/packed frame bytes and RGB, with the host's colour matrix."""

    def __init__(self, fmt: str, width: int, height: int, planes: list[list[int]], matrix: list[float] | None):
        if fmt not in FORMATS:
            raise FacepaintError(f"pixel format {fmt} is not supported (supported: {', '.join(FORMATS)})")
        if len(planes) != FORMATS[fmt]:
            raise FacepaintError(f"{fmt} has {FORMATS[fmt]} plane(s), got {len(planes)}")
        self.fmt, self.width, self.height = fmt, width, height
        self.planes = [(int(linesize), int(rows)) for linesize, rows in planes]
        self.offsets = np.cumsum([0] + [ls * rows for ls, rows in self.planes]).tolist()
        self.size = self.offsets[-1]
        m = np.asarray(matrix if matrix is not None else _BT709_LIMITED, np.float64).reshape(4, 4)
        # On 0..255 values: RGB = M[:, :3] @ YUV + 255 * M[:, 3] (cv2.transform's 3x4 form, C speed).
        scale = np.array([[1, 1, 1, 255]], np.float64)
        self.to_rgb = (m[:3] * scale).astype(np.float32)
        self.to_yuv = (np.linalg.inv(m)[:3] * scale).astype(np.float32)

    def _plane(self, buf, i: int, cols: int, channels: int = 1) -> np.ndarray:
        linesize, rows = self.planes[i]
        raw = np.frombuffer(buf, np.uint8, count=linesize * rows, offset=self.offsets[i]).reshape(rows, linesize)
        return raw[:, :cols * channels].reshape(rows, cols, channels) if channels > 1 else raw[:, :cols]

    def _plane_out(self, buf, i: int) -> np.ndarray:
        linesize, rows = self.planes[i]
        return np.frombuffer(buf, np.uint8, count=linesize * rows, offset=self.offsets[i]).reshape(rows, linesize)

    def rgb(self, buf) -> np.ndarray:
        """(H, W, 3) uint8 RGB of the frame in ``buf``."""
        w, h, f = self.width, self.height, self.fmt
        if f in ("RGBA", "BGRA", "BGRX"):
            px = self._plane(buf, 0, w, 4)[:h]
            return np.ascontiguousarray(px[..., :3] if f == "RGBA" else px[..., 2::-1])
        if f == "Y800":
            return np.repeat(self._plane(buf, 0, w)[:h, :, None], 3, axis=2)
        import cv2

        return cv2.transform(self._yuv(buf), self.to_rgb)  # uint8, saturated

    def _yuv(self, buf) -> np.ndarray:
        """(H, W, 3) uint8 Y, U, V with the chroma repeated up to full size."""
        import cv2

        w, h, f = self.width, self.height, self.fmt
        if f in ("YUY2", "UYVY"):
            packed = self._plane(buf, 0, w * 2)[:h]
            ys, us, vs = (0, 1, 3) if f == "YUY2" else (1, 0, 2)
            u = np.repeat(packed[:, us::4], 2, axis=1)[:, :w]
            v = np.repeat(packed[:, vs::4], 2, axis=1)[:, :w]
            return np.dstack([packed[:, ys::2][:, :w], u, v])
        y = self._plane(buf, 0, w)[:h]
        sx, sy = _CHROMA[f]
        cw, ch = -(-w // sx), -(-h // sy)
        if f == "NV12":
            uv = self._plane(buf, 1, cw, 2)[:ch]
            u, v = uv[..., 0], uv[..., 1]
        else:
            u, v = self._plane(buf, 1, cw)[:ch], self._plane(buf, 2, cw)[:ch]
        if (sx, sy) != (1, 1):
            u = cv2.resize(np.ascontiguousarray(u), (cw * sx, ch * sy), interpolation=cv2.INTER_NEAREST)[:h, :w]
            v = cv2.resize(np.ascontiguousarray(v), (cw * sx, ch * sy), interpolation=cv2.INTER_NEAREST)[:h, :w]
        return np.dstack([y, u, v])

    def write(self, rgb: np.ndarray, buf, box: tuple[int, int, int, int] | None = None) -> None:
        """Write ``rgb`` into ``buf`` in this layout, only inside ``box`` (x0, y0, x1, y1; default the
        whole frame; widened to whole chroma blocks). Chroma is averaged over its block."""
        import cv2

        w, h, f = self.width, self.height, self.fmt
        sx, sy = _CHROMA.get(f, (2, 1) if f in ("YUY2", "UYVY") else (1, 1))
        x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
        x0, y0 = x0 - x0 % sx, y0 - y0 % sy
        x1, y1 = min(w, x1 + (-x1) % sx), min(h, y1 + (-y1) % sy)
        if x1 <= x0 or y1 <= y0:
            return
        part = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        if f in ("RGBA", "BGRA", "BGRX"):
            out = self._plane_out(buf, 0)[y0:y1, x0 * 4:x1 * 4].reshape(y1 - y0, x1 - x0, 4)
            out[..., :3] = part if f == "RGBA" else part[..., ::-1]
            out[..., 3] = 255
            return
        if f == "Y800":
            self._plane_out(buf, 0)[y0:y1, x0:x1] = cv2.cvtColor(part, cv2.COLOR_RGB2GRAY)
            return
        yuv = cv2.transform(part, self.to_yuv)  # uint8, saturated
        y = yuv[..., 0]
        ph, pw = y.shape
        if f in ("YUY2", "UYVY"):
            out = self._plane_out(buf, 0)[y0:y1, x0 * 2:x1 * 2]
            u = cv2.resize(yuv[..., 1], (pw // 2, ph), interpolation=cv2.INTER_AREA)
            v = cv2.resize(yuv[..., 2], (pw // 2, ph), interpolation=cv2.INTER_AREA)
            ys, us, vs = (0, 1, 3) if f == "YUY2" else (1, 0, 2)
            out[:, ys::2], out[:, us::4], out[:, vs::4] = y, u, v
            return
        self._plane_out(buf, 0)[y0:y1, x0:x1] = y
        cw, ch = -(-pw // sx), -(-ph // sy)
        u = cv2.resize(yuv[..., 1], (cw, ch), interpolation=cv2.INTER_AREA)
        v = cv2.resize(yuv[..., 2], (cw, ch), interpolation=cv2.INTER_AREA)
        cx, cy = x0 // sx, y0 // sy
        if f == "NV12":
            uv = self._plane_out(buf, 1)[cy:cy + ch, cx * 2:(cx + cw) * 2].reshape(ch, cw, 2)
            uv[..., 0], uv[..., 1] = u, v
        else:
            self._plane_out(buf, 1)[cy:cy + ch, cx:cx + cw] = u
            self._plane_out(buf, 2)[cy:cy + ch, cx:cx + cw] = v


_CHROMA = {"I420": (2, 2), "NV12": (2, 2), "I422": (2, 1), "I444": (1, 1)}
_BT709_LIMITED = [1.164384, 0.0, 1.792741, -0.972945, 1.164384, -0.213249, -0.532909, 0.301483,
                  1.164384, 2.112402, 0.0, -1.133402, 0.0, 0.0, 0.0, 1.0]


class _Client:
    """One connected host source: its engine, its shared memory, its thread."""

    def __init__(self, service: "EngineService", conn: socket.socket):
        self.service, self.conn = service, conn
        self.engine = None
        self.layout: PixelLayout | None = None
        self.output: PixelLayout | None = None  # animate's picture (BGRA); None: same layout as the input
        self.out_bytes = 0
        self.memory: mmap.mmap | None = None
        self.path: str | None = None
        self.slots = 0
        # The client's thread works with the engine while the service's thread may close it on
        # shutdown: one at a time (two closes of one MediaPipe landmarker crash the process).
        self._engine_lock = threading.RLock()

    def send(self, message: dict) -> None:
        self.conn.sendall((json.dumps(message) + "\n").encode())

    def run(self) -> None:
        reader = self.conn.makefile("r", encoding="utf-8")
        try:
            for line in reader:
                message = json.loads(line)
                op = message.get("op")
                try:
                    if op == "open":
                        with self._engine_lock:
                            self.open(message)
                    elif op == "frame":
                        with self._engine_lock:
                            self.frame(message)
                    elif op == "status":
                        self.send({"op": "status", **self.service.status()})
                    else:
                        self.send({"op": "error", "message": f"unknown op {op!r}"})
                except FacepaintError as exc:
                    self.send({"op": "error", "message": str(exc)})
        except (OSError, ValueError):
            pass  # the client went away mid-message: clean up below
        finally:
            self.close()

    def open(self, message: dict) -> None:
        from .engine import Engine

        self.close_engine()
        mode = message.get("mode", "anonymize")
        if mode not in SERVE_MODES:
            raise FacepaintError(f"mode {mode!r} is not served (served: {', '.join(SERVE_MODES)})")
        self.layout = PixelLayout(message["format"], int(message["width"]), int(message["height"]),
                                  message["planes"], message.get("matrix"))
        self.slots = max(1, int(message.get("slots", 8)))
        options = dict(message.get("options", {}))
        if mode == "animate":
            self.open_animate(options)
            return
        self.output = None
        # The file configuration, not the "live" one: the full detector every 5th frame on the second
        # core, its result applied a fixed 4 frames later, and frames held back until a face found
        # late has been concealed in them too. Results therefore come back ``lookback`` frames after
        # their frame; the host's delay buffer must cover that (it is in the reply).
        self.engine = Engine.pipelined(mode, 5, device=self.service.device, detect_max_side=640, **options)
        self._map(self.layout.size)

    def open_animate(self, options: dict) -> None:
        """A portrait driven by the host's frames: nothing to hide, so the live configuration
        (detector on the second core, results at once); the output is the portrait's canvas."""
        from .engine import Engine
        from .media import read_image

        if not options.get("portrait"):
            raise FacepaintError("animate needs options.portrait (a picture file)")
        options["portrait"] = read_image(options["portrait"])
        self.engine = Engine(mode="animate", device=self.service.device, detect_async=True, detect_max_side=640,
                             lookback=0, **options)
        width, height = self.engine.mode.output_size(self.layout.width, self.layout.height)
        self.output = PixelLayout("BGRA", width, height, [[width * 4, height]], None)
        self._map(self.output.size)

    def _map(self, out_slot_bytes: int) -> None:
        self.out_bytes = out_slot_bytes
        self.raw: dict[int, bytes] = {}
        total = (self.layout.size + out_slot_bytes) * self.slots
        fd, self.path = _shm_file(total)
        self.memory = mmap.mmap(fd, total)
        os.close(fd)
        reply = {"op": "opened", "path": self.path, "slot_bytes": self.layout.size, "out_slot_bytes": out_slot_bytes,
                 "slots": self.slots, "lookback": self.engine.lookback}
        if self.output is not None:
            reply["output"] = {"format": "BGRA", "width": self.output.width, "height": self.output.height}
        self.send(reply)

    def frame(self, message: dict) -> None:
        if self.engine is None or self.layout is None or self.memory is None:
            raise FacepaintError("send 'open' before frames")
        seq = int(message["seq"])
        slot = seq % self.slots
        size = self.layout.size
        view = memoryview(self.memory)
        incoming = bytes(view[slot * size:(slot + 1) * size])  # the slot is reused before a held-back result is out
        if self.output is None:  # kept to write the result over (animate draws a picture of its own)
            self.raw[seq] = incoming
        image = self.layout.rgb(incoming)
        frame = Frame(image, index=seq, pts=int(round(float(message.get("time", seq / 30)) * 1_000_000)),
                      time_base=Fraction(1, 1_000_000))
        start = time.perf_counter()
        for result in self.engine.push(frame):
            done = result.frame.index
            start_out = self.slots * size + (done % self.slots) * self.out_bytes
            out = view[start_out:start_out + self.out_bytes]
            if self.output is not None:  # animate: the portrait's picture
                self.output.write(result.image, out)
            else:
                out[:] = self.raw.pop(done)  # untouched frames and padding exactly as they came
            if self.output is None and result.changed:  # write back only where the mode changed pixels
                diff = np.any(result.image != result.frame.image, axis=2)
                rows, cols = np.nonzero(diff.any(axis=1))[0], np.nonzero(diff.any(axis=0))[0]
                if len(rows):
                    self.layout.write(result.image, out, (int(cols[0]), int(rows[0]), int(cols[-1]) + 1,
                                                          int(rows[-1]) + 1))
            del out
            self.service.count_frame()
            self.send({"op": "result", "seq": done, "changed": result.changed,
                       "faces": [[round(float(v), 1) for v in f.box] for f in result.faces],
                       "hidden": [[round(float(v), 1) for v in box] for box in result.hidden],
                       "ms": round((time.perf_counter() - start) * 1000, 2)})
        del view

    def close_engine(self) -> None:
        with self._engine_lock:
            engine, self.engine = self.engine, None
            if engine is not None:
                engine.close()
            if self.memory is not None:
                self.memory.close()
                self.memory = None
            if self.path is not None:
                Path(self.path).unlink(missing_ok=True)
                self.path = None

    def close(self) -> None:
        self.close_engine()
        try:
            self.conn.shutdown(socket.SHUT_RDWR)  # wakes our reader and tells the host at once
        except OSError:
            pass
        self.conn.close()
        self.service.forget(self)


def _shm_file(size: int) -> tuple[int, str]:
    """A file in /dev/shm (RAM) both processes map. Plain mmap rather than multiprocessing's
    SharedMemory: that one starts a resource-tracker process inside the host, which unlinks the
    memory when the host's Python exits and warns about 'leaks' it does not own."""
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    import tempfile

    fd, path = tempfile.mkstemp(prefix="facepaint-", dir=folder)
    os.ftruncate(fd, size)
    return fd, path


class EngineService:
    """Accepts clients on a Unix socket until stopped (or idle for ``idle_exit`` seconds)."""

    def __init__(self, path: str | None = None, device: str = "auto", idle_exit: float | None = None):
        from .device import resolve_device

        self.path = path or default_socket()
        self.device = resolve_device(device)
        self.idle_exit = idle_exit
        self.clients: list[_Client] = []
        self.frames = 0
        self._lock = threading.Lock()
        self._times: list[float] = []
        self._stop = threading.Event()
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(self.path)
            raise FacepaintError(f"a facepaint service is already running on {self.path}")
        except (FileNotFoundError, ConnectionRefusedError):
            Path(self.path).unlink(missing_ok=True)  # a stale socket from a service that died
        finally:
            probe.close()
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o600)  # frames of this user's sources only
        self.sock.listen(8)
        self.sock.settimeout(0.5)

    def count_frame(self) -> None:
        with self._lock:
            self.frames += 1
            now = time.monotonic()
            self._times = [t for t in self._times if now - t < 2.0] + [now]

    def status(self) -> dict:
        with self._lock:
            return {"clients": len(self.clients), "frames": self.frames, "fps": round(len(self._times) / 2.0, 1)}

    def forget(self, client: _Client) -> None:
        with self._lock:
            if client in self.clients:
                self.clients.remove(client)
                self._idle_since = time.monotonic()

    def serve_forever(self) -> None:
        self._idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    conn, _ = self.sock.accept()
                except socket.timeout:
                    if (self.idle_exit is not None and not self.clients
                            and time.monotonic() - self._idle_since > self.idle_exit):
                        return
                    continue
                conn.settimeout(None)
                client = _Client(self, conn)
                with self._lock:
                    self.clients.append(client)
                threading.Thread(target=client.run, daemon=True, name="facepaint-client").start()
        finally:
            self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.sock.close()
        Path(self.path).unlink(missing_ok=True)
        for client in list(self.clients):
            client.close()
