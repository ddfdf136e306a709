"""Client of ``facepaint serve`` for host adapters: standard library and numpy only (it runs inside
OBS's Python). The protocol is documented in core/facepaint/service.py.

The host's thread only copies a frame into shared memory (``submit``) and results out (``result``);
a worker thread does the socket I/O, so a slow or dead service never blocks the host.
"""

from __future__ import annotations

import json
import mmap
import os
import queue
import socket
import subprocess
import threading
import time


class EngineClient:
    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self.state = "connecting"  # connecting -> running | down
        self.error = ""
        self.slots = 0
        self.lookback = 0  # frames the service holds back (from its "opened" reply)
        self.slot_bytes = 0
        self.memory: mmap.mmap | None = None
        self.results: dict[int, dict] = {}
        self.in_flight: set[int] = set()
        self.latency_ms = 0.0
        self._sent: dict[int, float] = {}
        self._done_times: list[float] = []
        self._outbox: queue.Queue = queue.Queue()
        self._opened = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- connection ---------------------------------------------------------------------------
    def connect(self, open_message: dict, timeout: float = 30.0) -> bool:
        """Connect and open a stream (blocking up to ``timeout``: call from a worker, not a render thread)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(self.socket_path)
                break
            except OSError as exc:
                sock.close()
                if time.monotonic() > deadline:
                    self.state, self.error = "down", f"no service on {self.socket_path}: {exc}"
                    return False
                time.sleep(0.2)
        self._sock = sock
        threading.Thread(target=self._reader, daemon=True, name="facepaint-reader").start()
        threading.Thread(target=self._writer, daemon=True, name="facepaint-writer").start()
        self._outbox.put(open_message)
        if not self._opened.wait(max(0.1, deadline - time.monotonic())) or self.state != "running":
            self.state = "down"
            self.error = self.error or "the service did not open the stream in time"
            return False
        return True

    def _writer(self) -> None:
        while not self._closed:
            message = self._outbox.get()
            if message is None:
                return
            try:
                assert self._sock is not None
                self._sock.sendall((json.dumps(message) + "\n").encode())
            except OSError as exc:
                self._fail(f"service connection lost: {exc}")
                return

    def _reader(self) -> None:
        assert self._sock is not None
        try:
            for line in self._sock.makefile("r", encoding="utf-8"):
                message = json.loads(line)
                op = message.get("op")
                if op == "opened":
                    self.memory_path = message["path"]
                    fd = os.open(message["path"], os.O_RDWR)
                    self.slots, self.slot_bytes = message["slots"], message["slot_bytes"]
                    self.out_slot_bytes = message.get("out_slot_bytes", self.slot_bytes)
                    self.lookback = message.get("lookback", 0)
                    self.output = message.get("output")  # animate: the portrait's picture size
                    self.memory = mmap.mmap(fd, self.slots * (self.slot_bytes + self.out_slot_bytes))
                    os.close(fd)
                    self.state = "running"
                    self._opened.set()
                elif op == "result":
                    seq = message["seq"]
                    now = time.monotonic()
                    with self._lock:
                        self.results[seq] = message
                        self.in_flight.discard(seq)
                        sent = self._sent.pop(seq, None)
                        if sent is not None:
                            self.latency_ms = (now - sent) * 1000
                        self._done_times = [t for t in self._done_times if now - t < 2.0] + [now]
                elif op == "error":
                    self.error = message.get("message", "error")
                    if not self._opened.is_set():
                        self.state = "down"
                        self._opened.set()
                elif op == "status":
                    self.last_status = message
        except (OSError, ValueError):
            pass
        self._fail(self.error or "the service closed the connection")

    def _fail(self, why: str) -> None:
        self.state = "down"
        self.error = why
        self._opened.set()

    # -- frames ---------------------------------------------------------------------------------
    def can_submit(self, limit: int | None = None) -> bool:
        """Room for another frame: the ring has a free slot and fewer than ``limit`` frames are in
        flight (a host with a fixed delay caps this so results stay within its delay)."""
        with self._lock:
            cap = self.slots if limit is None else min(self.slots, limit)
            return self.state == "running" and len(self.in_flight) < cap

    def input_slot(self, seq: int) -> memoryview:
        assert self.memory is not None
        slot = seq % self.slots
        return memoryview(self.memory)[slot * self.slot_bytes:(slot + 1) * self.slot_bytes]

    def output_slot(self, seq: int) -> memoryview:
        assert self.memory is not None
        start = self.slots * self.slot_bytes + (seq % self.slots) * self.out_slot_bytes
        return memoryview(self.memory)[start:start + self.out_slot_bytes]

    def submit(self, seq: int, time_s: float) -> None:
        """The frame is already in ``input_slot(seq)``: ask the service to process it."""
        with self._lock:
            self.in_flight.add(seq)
            self._sent[seq] = time.monotonic()
            # Results older than the ring can no longer be read: forget them.
            for old in [s for s in self.results if s <= seq - self.slots]:
                del self.results[old]
        self._outbox.put({"op": "frame", "seq": seq, "time": time_s})

    def result(self, seq: int) -> dict | None:
        with self._lock:
            return self.results.get(seq)

    def fps(self) -> float:
        with self._lock:
            return len(self._done_times) / 2.0

    def close(self) -> None:
        self._closed = True
        self._outbox.put(None)
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        self.state = "down"


def start_service(executable: str, socket_path: str, idle_exit: float = 60.0) -> subprocess.Popen | None:
    """Start ``facepaint serve`` detached (it outlives a script reload; it stops when idle)."""
    try:
        return subprocess.Popen([executable, "serve", "--socket", socket_path, "--idle-exit", str(idle_exit)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        return None


def service_running(socket_path: str) -> bool:
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.connect(socket_path)
        return True
    except OSError:
        return False
    finally:
        sock.close()
