"""Runs real OBS Studio (Debian's 29.x) headless under Xvfb with a scene that plays a face video
through a media source, loads facepaint_obs.py and tests/obs_driver.py, and records. Used by
tests/test_obs.py and benchmarks/obs.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def available() -> str | None:
    """None when OBS and Xvfb are installed, else why not."""
    missing = [cmd for cmd in ("obs", "Xvfb") if shutil.which(cmd) is None]
    return f"not installed: {', '.join(missing)} (`make test` installs obs-studio and xvfb)" if missing else None


def _config(home: Path, clip: Path, record_dir: Path, fps: int, image: bool = False) -> None:
    base = home / ".config" / "obs-studio"
    (base / "basic" / "profiles" / "fp").mkdir(parents=True)
    (base / "basic" / "scenes").mkdir(parents=True)
    (base / "global.ini").write_text(
        "[General]\nFirstRun=true\nLastVersion=486539266\nEnableAutoUpdates=false\n"
        "[Basic]\nProfile=fp\nProfileDir=fp\nSceneCollection=fp\nSceneCollectionFile=fp\n")
    (base / "basic" / "profiles" / "fp" / "basic.ini").write_text(
        f"[General]\nName=fp\n[Video]\nBaseCX=640\nBaseCY=360\nOutputCX=640\nOutputCY=360\nFPSType=1\n"
        f"FPSInt={fps}\n[Output]\nMode=Simple\n[SimpleOutput]\nFilePath={record_dir}\nRecFormat=mkv\n"
        f"RecQuality=Small\nRecEncoder=x264\nStreamEncoder=x264\n[Audio]\nSampleRate=48000\nChannelSetup=Stereo\n")
    scene = {
        "current_scene": "Scene", "current_program_scene": "Scene", "name": "fp",
        "scene_order": [{"name": "Scene"}],
        "sources": [
            {"id": "scene", "versioned_id": "scene", "name": "Scene", "uuid": "00000000-0000-0000-0000-000000000001",
             "settings": {"id_counter": 1, "items": [{"name": "face", "id": 1, "visible": True, "locked": False,
                                                       "pos": {"x": 0.0, "y": 0.0}, "scale": {"x": 1.0, "y": 1.0},
                                                       "rot": 0.0, "align": 5, "bounds_type": 2,
                                                       "bounds": {"x": 640.0, "y": 360.0}, "bounds_align": 0}]}},
            {"id": "image_source", "versioned_id": "image_source", "name": "face",
             "uuid": "00000000-0000-0000-0000-000000000002", "settings": {"file": str(clip)}} if image else
            {"id": "ffmpeg_source", "versioned_id": "ffmpeg_source", "name": "face",
             "uuid": "00000000-0000-0000-0000-000000000002",
             "settings": {"local_file": str(clip), "is_local_file": True, "looping": True,
                          "restart_on_activate": True}},
        ],
        "modules": {"scripts-tool": [{"path": str(REPO / "plugins" / "obs" / "facepaint_obs.py"), "settings": {}},
                                     {"path": str(REPO / "tests" / "obs_driver.py"), "settings": {}}]},
    }
    (base / "basic" / "scenes" / "fp.json").write_text(json.dumps(scene))


def run_obs(work: Path, clip: Path, seconds: int = 8, with_filter: bool = True, delay: int = 24,
            fps: int = 30, timeout: float = 180, portrait: Path | None = None,
            image: bool = False, reload_at: int = 0) -> tuple[Path, str]:
    """Record ``seconds`` of the scene (the face video with the facepaint filter, or with
    ``portrait`` a facepaint portrait source driven by it; ``image``: ``clip`` is a picture shown by
    an image source, which OBS draws synchronously; ``reload_at``: seconds into the recording at which
    the script is reloaded as Tools > Scripts > Reload Scripts does); returns (recording, OBS log)."""
    home, records = work / "home", work / "records"
    records.mkdir(parents=True)
    _config(home, clip, records, fps, image)
    done = work / "done"
    xvfb, display = _start_xvfb()
    env = dict(os.environ, HOME=str(home), DISPLAY=display, LIBGL_ALWAYS_SOFTWARE="1",
               FACEPAINT_EXE=str(Path(sys.executable).parent / "facepaint"),
               FACEPAINT_SOCKET=str(work / "facepaint.sock"), OBS_TEST_DONE=str(done),
               OBS_TEST_SECONDS=str(seconds), OBS_TEST_FILTER="1" if with_filter else "0",
               OBS_TEST_DELAY=str(delay), OBS_TEST_PORTRAIT=str(portrait) if portrait else "",
               OBS_TEST_RELOAD_AT=str(reload_at or ""),
               FACEPAINT_SCRIPT=str(REPO / "plugins" / "obs" / "facepaint_obs.py"))
    env.pop("QT_QPA_PLATFORM", None)
    obs = None
    try:
        obs = subprocess.Popen(["obs", "--collection", "fp", "--profile", "fp", "--scene", "Scene",
                                "--disable-shutdown-check", "--minimize-to-tray"], env=env, cwd=str(work),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not done.exists():
            if obs.poll() is not None:
                raise RuntimeError(f"OBS exited early with code {obs.returncode}; log:\n{_log_tail(home)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"OBS did not finish recording in {timeout:.0f} s; log:\n{_log_tail(home)}")
            time.sleep(0.5)
        time.sleep(1.0)
    finally:
        if obs is not None and obs.poll() is None:
            obs.send_signal(signal.SIGINT)
            try:
                obs.wait(30)
            except subprocess.TimeoutExpired:
                obs.kill()
        xvfb.terminate()
        xvfb.wait(10)
        if (work / "facepaint.sock").exists():  # the service stops itself when idle; do not wait
            subprocess.run(["pkill", "-f", str(work / "facepaint.sock")], check=False)
    recordings = sorted(records.glob("*.mkv"))
    if not recordings:
        raise RuntimeError(f"OBS wrote no recording; log:\n{_log_tail(home)}")
    return recordings[-1], _log(home)


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a display it picks itself (-displayfd): a fixed number can collide with another
    server, or with the one this process just stopped, and OBS then has no screen."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write,))
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # written once the server accepts connections
    if not number:
        xvfb.kill()
        raise RuntimeError(f"Xvfb did not start (exit code {xvfb.wait(10)})")
    return xvfb, f":{number}"


def _log(home: Path) -> str:
    logs = sorted((home / ".config" / "obs-studio" / "logs").glob("*.txt"))
    return logs[-1].read_text(errors="replace") if logs else ""


def _log_tail(home: Path) -> str:
    return _log(home)[-3000:] or "none"


def lagged_percent(log: str) -> float | None:
    """OBS's own "frames lagged due to rendering" share, from its log. OBS writes that line only when
    some frames lagged, so a recording that stopped without it lagged none (0.0); None: no recording."""
    match = re.findall(r"Number of lagged frames due to rendering lag/stalls: \d+ \(([\d.]+)%\)", log)
    if match:
        return float(match[-1])
    return 0.0 if "Output 'simple_file_output': stopping" in log else None
