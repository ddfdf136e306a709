"""OBS adapter figures (issue 7): OBS's own rendering lag with and without the filter at 640x360,
the delay (frames) the filter needs for anonymize on this CPU, and the service's throughput with
one and two sources (protocol level, frames as fast as the service takes them)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "plugins" / "obs"))


def _clip(shared: Path, work: Path) -> Path:
    clip = work / "face.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(shared / "video" / "driving" / "d12.mp4"), "-vf",
                    "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2",
                    "-c:v", "libx264", "-c:a", "aac", str(clip)], check=True)
    return clip


def _late(log: str) -> tuple[int, int] | None:
    match = re.findall(r"facepaint: stream closed: (\d+) late of (\d+) frames", log)
    return (int(match[-1][0]), int(match[-1][1])) if match else None


def bench_obs(shared: Path) -> dict:
    import obs_harness

    work = Path(tempfile.mkdtemp(prefix="facepaint-obs-bench-"))
    clip = _clip(shared, work)
    still = work / "still.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "1", "-i", str(clip), "-frames:v", "1", str(still)], check=True)
    rows = {}
    for label, with_filter, delay, image in [
            ("media source, no filter", False, 24, False), ("media source, filter, delay 12", True, 12, False),
            ("media source, filter, delay 18", True, 18, False), ("media source, filter, delay 24", True, 24, False),
            ("image source, no filter", False, 24, True), ("image source, filter, delay 24", True, 24, True)]:
        run_dir = work / label.replace(" ", "_").replace(",", "")
        run_dir.mkdir()
        _, log = obs_harness.run_obs(run_dir, still if image else clip, seconds=12, with_filter=with_filter,
                                     delay=delay, image=image)
        rows[label] = {"lagged_percent": obs_harness.lagged_percent(log), "late": _late(log)}
    shutil.rmtree(work, ignore_errors=True)
    return rows


def bench_service(shared: Path, frames: int = 150) -> dict:
    from facepaint.media import MediaReader
    from facepaint.service import EngineService, PixelLayout
    from facepaint_client import EngineClient

    import cv2

    images = []
    with MediaReader(shared / "video" / "heads" / "s32.mp4") as reader:
        for frame in reader.frames():
            images.append(cv2.resize(frame.image, (640, 360)))
            if len(images) >= frames:
                break
    planes = [[640, 360], [320, 180], [320, 180]]
    layout = PixelLayout("I420", 640, 360, planes, None)
    encoded = []
    for image in images:
        buf = bytearray(layout.size)
        layout.write(image, buf)
        encoded.append(bytes(buf))
    out = {}
    for sources in (1, 2):
        work = Path(tempfile.mkdtemp(prefix="facepaint-svc-"))
        service = EngineService(str(work / "s.sock"), device="cpu")
        thread = threading.Thread(target=service.serve_forever, daemon=True)
        thread.start()
        rates = [0.0] * sources

        def feed(k: int) -> None:
            client = EngineClient(service.path)
            client.connect({"op": "open", "mode": "anonymize", "options": {}, "format": "I420", "width": 640,
                            "height": 360, "planes": planes, "slots": 24})
            start = None
            for seq in range(len(encoded)):
                while not client.can_submit(20):
                    time.sleep(0.001)
                client.input_slot(seq)[:] = encoded[seq]
                client.submit(seq, seq / 25)
                if seq == 20:
                    start = time.perf_counter()
            last = len(encoded) - 1 - client.lookback
            while client.result(last) is None:
                time.sleep(0.005)
            rates[k] = (last - 20) / (time.perf_counter() - start)
            client.close()

        workers = [threading.Thread(target=feed, args=(k,)) for k in range(sources)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        service.stop()
        thread.join(10)
        out[f"{sources} source(s)"] = {"fps_per_source": [round(r, 1) for r in rates], "total_fps": round(sum(rates), 1)}
        shutil.rmtree(work, ignore_errors=True)
    return out


def report(shared: Path, out_dir: Path | None = None) -> dict:
    print("obs: service throughput ...", file=sys.stderr)
    result = {"service": bench_service(shared)}
    print("obs: OBS under Xvfb, with and without the filter ...", file=sys.stderr)
    result["obs"] = bench_obs(shared)
    return result


def print_report(r: dict) -> None:
    print("\n## OBS adapter (640x360, anonymize, OBS 29 under Xvfb with software OpenGL, same 2 cores)")
    print("| run | OBS frames lagged due to rendering | results late (hidden) |")
    print("|---|---|---|")
    for label, row in r["obs"].items():
        late = row["late"]
        late_text = f"{late[0]} of {late[1]} ({late[0] / max(late[1], 1):.1%})" if late else "-"
        lag = row["lagged_percent"]
        print(f"| {label} | {lag if lag is not None else '-'}% | {late_text} |")
    for label, row in r["service"].items():
        print(f"service throughput, {label}: {row['fps_per_source']} frames/s per source, {row['total_fps']} in all")
