"""Running the facepaint engine for one strip, off Blender's main thread. No bpy in this module.

The engine is the ``facepaint`` command in its own process (its own Python with torch, never
Blender's): the add-on builds a command line for the strip's visible source frames, runs it on a
worker thread, reads its progress lines, and can stop it (Esc).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("anonymize", "paint", "animate")
_PROGRESS = re.compile(r"(\d+)/(\d+) frames")


@dataclass
class JobSpec:
    """What to run: ``mode`` on ``source`` frames [first, first + count) into ``output`` (.mkv)."""

    mode: str
    source: str
    first: int
    count: int
    output: str
    options: dict = field(default_factory=dict)  # seed, fallback, style, keep (list), portrait, ...


def find_executable(configured: str = "") -> str | None:
    """The facepaint command: the add-on preference if set, else ``facepaint`` on PATH."""
    if configured:
        path = os.path.expanduser(configured)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which("facepaint")


def build_command(executable: str, job: JobSpec) -> list[str]:
    if job.mode not in MODES:
        raise ValueError(f"unknown mode {job.mode!r}")
    o = job.options
    if job.mode == "animate":
        cmd = [executable, "animate", o["portrait"], job.source, job.output]
        if o.get("size"):
            cmd += ["--size", str(o["size"])]
    else:
        cmd = [executable, job.mode, job.source, job.output]
    if job.mode == "anonymize":
        cmd += ["--seed", str(o.get("seed", 0)), "--fallback", o.get("fallback", "mosaic")]
        if o.get("style"):
            cmd += ["--style", o["style"]]
    if job.mode == "paint":
        cmd += ["--style", o.get("style") or "starry-night", "--region", o.get("region", "face")]
    if job.mode in ("anonymize", "paint"):
        for ref in o.get("keep", []):
            cmd += ["--keep", ref]
    cmd += ["--frames", f"{job.first}:{job.count}", "--lossless"]
    return cmd


class JobRunner:
    """One engine process on a worker thread. Poll ``state``/``progress`` from the main thread."""

    def __init__(self, command: list[str]):
        self.command = command
        self.state = "running"  # running -> done | failed | cancelled
        self.progress = 0.0
        self.error = ""
        self._process: subprocess.Popen | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "JobRunner":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # facepaint stops cleanly and writes nothing

    def wait(self, timeout: float | None = None) -> str:
        self._thread.join(timeout)
        return self.state

    def _run(self) -> None:
        env = dict(os.environ, FACEPAINT_PROGRESS_SECONDS="0.5")
        try:
            self._process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                             text=True, env=env)
        except OSError as exc:
            self.state, self.error = "failed", f"cannot start facepaint: {exc}"
            return
        if self._cancel.is_set():
            self.cancel()
        last = ""
        assert self._process.stderr is not None
        for line in self._process.stderr:
            match = _PROGRESS.search(line)
            if match:
                done, total = int(match.group(1)), int(match.group(2))
                self.progress = min(1.0, done / max(total, 1))
            elif line.strip():
                last = line.strip()
        code = self._process.wait()
        if self._cancel.is_set():
            self.state = "cancelled"
        elif code == 0:
            self.state, self.progress = "done", 1.0
        else:
            self.state, self.error = "failed", last or f"facepaint exited with code {code}"


def intermediate_name(strip_name: str, mode: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", strip_name).strip("_") or "strip"
    return f"{safe}.{mode}.mkv"


def intermediate_folder(blend_path: str, cache_folder: str) -> tuple[Path, bool]:
    """(folder, relative?): a ``facepaint`` folder beside the saved .blend (stored relative, so the
    project moves with it), else the cache folder the user set, else the system's temp folder."""
    if cache_folder:
        return Path(os.path.expanduser(cache_folder)), False
    if blend_path:
        return Path(blend_path).parent / "facepaint", True
    import tempfile

    return Path(tempfile.gettempdir()) / "facepaint-blender", False
