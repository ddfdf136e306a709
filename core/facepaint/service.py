"""``facepaint serve``: the engine as a local service for hosts that embed their own Python (OBS).

Control travels as JSON lines over a Unix socket; frames travel through shared memory (a file in
/dev/shm mapped by both sides: no per-frame serialization). Each client gets its own engine, on its
own thread; a client that disconnects frees its engine and its memory. Protocol:

    client -> {"op": "open", "mode": "anonymize", "options": {...}, "format": "I420", "width": W,
               "height": H, "planes": [[linesize, rows], ...], "matrix": [16 floats], "slots": N}
    service <- {"op": "opened", "path": "/dev/shm/...", "slot_bytes": B, "slots": N}
              (or {"op": "error", "message": "..."})
    client -> {"op": "frame", "seq": S, "time": seconds}     the frame's planes are in input slot S % N
    service <- {"op": "result", "seq": S, "faces": [[x0, y0, x1, y1], ...], "ms": M}
              the output planes (same layout) are in output slot S % N
    client -> {"op": "status"}  ->  {"op": "status", "clients": C, "frames": F, "fps": R}

Memory layout: N input slots, then N output slots, each ``slot_bytes`` = the sum of linesize x rows
over the planes. Pixel formats are OBS's (``FORMATS``); ``matrix`` is the frame's YUV -> RGB colour
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
SERVE_MODES = ("anonymize", "paint")


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
        self.to_rgb = m[:3]  # RGB = M @ (Y, U, V, 1), all normalised to 0..1
        self.to_yuv = np.linalg.inv(m)[:3]

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
        y, u, v = self._yuv(buf)
        yuv1 = np.stack([y, u, v, np.ones_like(y)], axis=-1) / np.array([255, 255, 255, 1], np.float32)
        return np.clip(yuv1 @ self.to_rgb.T.astype(np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)

    def _yuv(self, buf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h, f = self.width, self.height, self.fmt
        if f in ("YUY2", "UYVY"):
            packed = self._plane(buf, 0, w * 2)[:h].astype(np.float32)
            ys, us, vs = (0, 1, 3) if f == "YUY2" else (1, 0, 2)
            y = packed[:, ys::2]
            u = np.repeat(packed[:, us::4], 2, axis=1)[:, :w]
            v = np.repeat(packed[:, vs::4], 2, axis=1)[:, :w]
            return y, u, v
        y = self._plane(buf, 0, w)[:h].astype(np.float32)
        sx, sy = {"I420": (2, 2), "NV12": (2, 2), "I422": (2, 1), "I444": (1, 1)}[f]
        cw, ch = -(-w // sx), -(-h // sy)
        if f == "NV12":
            uv = self._plane(buf, 1, cw, 2)[:ch].astype(np.float32)
            u, v = uv[..., 0], uv[..., 1]
        else:
            u, v = self._plane(buf, 1, cw)[:ch].astype(np.float32), self._plane(buf, 2, cw)[:ch].astype(np.float32)
        up = lambda c: np.repeat(np.repeat(c, sy, axis=0), sx, axis=1)[:h, :w]  # noqa: E731
        return y, up(u), up(v)

    def write(self, rgb: np.ndarray, buf) -> None:
        """Write ``rgb`` into ``buf`` in this layout (chroma averaged over its block)."""
        w, h, f = self.width, self.height, self.fmt
        if f in ("RGBA", "BGRA", "BGRX"):
            out = self._plane_out(buf, 0)[:h, :w * 4].reshape(h, w, 4)
            out[..., :3] = rgb if f == "RGBA" else rgb[..., ::-1]
            out[..., 3] = 255
            return
        if f == "Y800":
            self._plane_out(buf, 0)[:h, :w] = rgb.mean(axis=2).astype(np.uint8)
            return
        rgb1 = np.concatenate([rgb.astype(np.float32) / 255, np.ones((h, w, 1), np.float32)], axis=2)
        yuv = np.clip((rgb1 @ self.to_yuv.T.astype(np.float32)) * 255 + 0.5, 0, 255)
        y, u, v = yuv[..., 0], yuv[..., 1], yuv[..., 2]
        if f in ("YUY2", "UYVY"):
            out = self._plane_out(buf, 0)[:h, :w * 2]
            pair = lambda c: c[:, : w // 2 * 2].reshape(h, -1, 2).mean(axis=2)  # noqa: E731
            ys, us, vs = (0, 1, 3) if f == "YUY2" else (1, 0, 2)
            out[:, ys::2] = y.astype(np.uint8)
            out[:, us::4] = pair(u).astype(np.uint8)
            out[:, vs::4] = pair(v).astype(np.uint8)
            return
        self._plane_out(buf, 0)[:h, :w] = y.astype(np.uint8)
        sx, sy = {"I420": (2, 2), "NV12": (2, 2), "I422": (2, 1), "I444": (1, 1)}[f]
        cw, ch = -(-w // sx), -(-h // sy)

        def down(c):
            padded = np.pad(c, ((0, ch * sy - h), (0, cw * sx - w)), mode="edge")
            return padded.reshape(ch, sy, cw, sx).mean(axis=(1, 3)).astype(np.uint8)

        if f == "NV12":
            uv = self._plane_out(buf, 1)[:ch, :cw * 2].reshape(ch, cw, 2)
            uv[..., 0], uv[..., 1] = down(u), down(v)
        else:
            self._plane_out(buf, 1)[:ch, :cw] = down(u)
            self._plane_out(buf, 2)[:ch, :cw] = down(v)


_BT709_LIMITED = [1.164384, 0.0, 1.792741, -0.972945, 1.164384, -0.213249, -0.532909, 0.301483,
                  1.164384, 2.112402, 0.0, -1.133402, 0.0, 0.0, 0.0, 1.0]


class _Client:
    """One connected host source: its engine, its shared memory, its thread."""

    def __init__(self, service: "EngineService", conn: socket.socket):
        self.service, self.conn = service, conn
        self.engine = None
        self.layout: PixelLayout | None = None
        self.memory: mmap.mmap | None = None
        self.path: str | None = None
        self.slots = 0

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
                        self.open(message)
                    elif op == "frame":
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
        # Live configuration: the detector on the second core, results applied when ready; no
        # look-back (the host's delay buffer plays that role).
        self.engine = Engine(mode=mode, device=self.service.device, detect_async=True, detect_max_side=640,
                             lookback=0, **message.get("options", {}))
        fd, self.path = _shm_file(self.layout.size * self.slots * 2)
        self.memory = mmap.mmap(fd, self.layout.size * self.slots * 2)
        os.close(fd)
        self.send({"op": "opened", "path": self.path, "slot_bytes": self.layout.size, "slots": self.slots})

    def frame(self, message: dict) -> None:
        if self.engine is None or self.layout is None or self.memory is None:
            raise FacepaintError("send 'open' before frames")
        start = time.perf_counter()
        seq = int(message["seq"])
        slot = seq % self.slots
        size = self.layout.size
        view = memoryview(self.memory)
        image = self.layout.rgb(view[slot * size:(slot + 1) * size])
        frame = Frame(image, index=seq, pts=int(round(float(message.get("time", seq / 30)) * 1_000_000)),
                      time_base=Fraction(1, 1_000_000))
        result = self.engine.process(frame)
        out = view[(self.slots + slot) * size:(self.slots + slot + 1) * size]
        out[:] = view[slot * size:(slot + 1) * size]  # padding and untouched planes as they came
        if result.changed:
            self.layout.write(result.image, out)
        del view, out
        self.service.count_frame()
        self.send({"op": "result", "seq": seq, "changed": result.changed,
                   "faces": [[round(float(v), 1) for v in f.box] for f in result.faces],
                   "ms": round((time.perf_counter() - start) * 1000, 2)})

    def close_engine(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
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
