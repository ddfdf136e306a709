"""Animate figures (issue 6), on ../shared/data's paintings, portraits and driving videos.

Per (portrait, driving clip): MediaPipe on the driver and, afresh, on the output gives blendshapes
and head pose; we correlate the changes from the neutral (first) frame, compare pose changes,
check the output still shows the portrait's person (dlib distance to the portrait) and that an
independent detector (dlib HOG) finds a face. Speed: 512x512 output, driver's face stack included.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

from facepaint.detect import CenterFaceDetector
from facepaint.engine import Engine
from facepaint.errors import FacepaintError
from facepaint.facestack import FaceStack
from facepaint.identity import Recognizer
from facepaint.media import MediaReader, MediaWriter, read_image
from facepaint.types import Frame

PORTRAITS = ["paintings/mona_lisa.jpg", "paintings/girl_with_a_pearl_earring.jpg", "paintings/la_velata.jpg",
             "portraits"]  # "portraits": the first photo in images/portraits
DRIVERS = ["driving/d3.mp4", "driving/d12.mp4", "driving/d0.mp4"]
# Blendshapes that carry expression (the rest, like _neutral, describe nothing that moves).
SKIP = {"_neutral"}


def _portrait_path(shared: Path, name: str) -> Path:
    if name == "portraits":
        return sorted((shared / "images" / "portraits").glob("*"))[0]
    return shared / "images" / name


def paintings_usable(shared: Path) -> list[dict]:
    rows = []
    for path in sorted((shared / "images" / "paintings").glob("*")):
        try:
            with Engine(mode="animate", device="cpu", portrait=read_image(path)) as engine:
                face = engine.mode.portrait_face
                rows.append({"painting": path.name, "usable": True, "face_px": round(face.size),
                             "yaw": round(face.pose.yaw, 1) if face.pose else None})
        except FacepaintError as exc:
            rows.append({"painting": path.name, "usable": False, "why": str(exc)})
    return rows


def animate_clip(portrait: np.ndarray, clip: Path, frames: int, **options) -> tuple[list, np.ndarray, float]:
    """(results, canvas, ms per frame of the engine) for the first ``frames`` frames of ``clip``."""
    with MediaReader(clip) as reader:
        inputs = []
        for frame in reader.frames():
            inputs.append(frame)
            if len(inputs) >= frames:
                break
    with Engine.pipelined("animate", 5, device="cpu", portrait=portrait, size=512, **options) as engine:
        canvas = engine.mode.canvas
        results, times = [], []
        for frame in inputs:
            start = time.perf_counter()
            results += engine.push(frame)
            times.append(time.perf_counter() - start)
        results += engine.flush()
    return results, canvas, statistics.mean(times[5:]) * 1000


def measure(results: list, canvas: np.ndarray, recognizer: Recognizer, every: int = 3) -> dict:
    judge = FaceStack(device="cpu")
    centerface = CenterFaceDetector()  # a second independent detector: HOG misses turned faces
    reference = recognizer.descriptor(canvas, recognizer.detect(canvas)[0])
    drv, out, pose_d, pose_o, distances, found, found_cf = [], [], [], [], [], [], []
    keys = None
    for r in results[::every]:
        boxes = recognizer.detect(r.image)
        found.append(bool(boxes))
        found_cf.append(bool(centerface(r.image)))
        if boxes:
            distances.append(float(np.linalg.norm(recognizer.descriptor(r.image, boxes[0]) - reference)))
        judge.reset()
        seen = [f for f in judge(Frame(r.image)) if f.landmarks is not None]
        driver = [f for f in r.faces if f.landmarks is not None and f.blendshapes]
        if not seen or not driver:
            continue
        d, o = max(driver, key=lambda f: f.size), max(seen, key=lambda f: f.size)
        keys = keys or sorted(k for k in d.blendshapes if k not in SKIP)
        drv.append([d.blendshapes[k] for k in keys])
        out.append([o.blendshapes[k] for k in keys])
        pose_d.append([d.pose.yaw, d.pose.pitch, d.pose.roll])
        pose_o.append([o.pose.yaw, o.pose.pitch, o.pose.roll])
    judge.close()
    drv, out, pose_d, pose_o = map(np.array, (drv, out, pose_d, pose_o))
    change_d, change_o = drv - drv[0], out - out[0]
    pose_error = np.abs((pose_d - pose_d[0]) - (pose_o - pose_o[0])).mean(0)
    return {"frames_judged": len(found), "face_found": float(np.mean(found)),
            "face_found_centerface": float(np.mean(found_cf)),
            "blendshape_change_correlation": float(np.corrcoef(change_d.ravel(), change_o.ravel())[0, 1]),
            "pose_change_error_deg": {"yaw": float(pose_error[0]), "pitch": float(pose_error[1]),
                                      "roll": float(pose_error[2])},
            "identity_distance_median": float(np.median(distances)) if distances else None,
            "identity_distance_max": float(np.max(distances)) if distances else None}


def report(shared: Path, out_dir: Path, frames: int = 90) -> dict:
    import cv2

    recognizer = Recognizer()
    print("animate: which paintings can be animated ...", file=sys.stderr)
    results: dict = {"paintings": paintings_usable(shared), "pairs": []}
    sheet_rows = []
    for name in PORTRAITS:
        portrait = read_image(_portrait_path(shared, name))
        for clip in DRIVERS:
            print(f"animate: {Path(name).name} driven by {clip} ...", file=sys.stderr)
            run, canvas, ms = animate_clip(portrait, shared / "video" / clip, frames)
            row = {"portrait": Path(name).name, "driver": Path(clip).name, "frames": len(run), "ms_per_frame": ms}
            row.update(measure(run, canvas, recognizer))
            results["pairs"].append(row)
            if clip == DRIVERS[0]:
                picks = [run[i] for i in np.linspace(0, len(run) - 1, 6).astype(int)]
                tiles = []
                for r in picks:
                    h, w = r.frame.image.shape[:2]
                    driver = cv2.resize(r.frame.image, (160, int(160 * h / w)))[:160]
                    driver = cv2.copyMakeBorder(driver, 0, 160 - driver.shape[0], 0, 0, cv2.BORDER_CONSTANT)
                    tiles.append(np.vstack([driver, cv2.resize(r.image, (160, 160))]))
                sheet_rows.append(np.hstack(tiles))
                if name == PORTRAITS[0]:  # a short clip to watch: the Mona Lisa talks
                    writer = MediaWriter(out_dir / "animate_mona_lisa.mp4", canvas.shape[1], canvas.shape[0])
                    for r in run:
                        writer.write(r.image, r.frame)
                    writer.close(ok=True)
    out_dir.mkdir(exist_ok=True)
    cv2.imwrite(str(out_dir / "animate_sheet.png"), cv2.cvtColor(np.vstack(sheet_rows), cv2.COLOR_RGB2BGR))
    return results


def print_report(r: dict) -> None:
    print("\n## Animate: paintings")
    for p in r["paintings"]:
        print(f"- {p['painting']}: " + (f"usable (face {p['face_px']} px, yaw {p['yaw']})" if p["usable"]
                                        else f"fails: {p['why']}"))
    print("\n| portrait | driver | blendshape change corr (>= 0.6) | pose change error yaw/pitch/roll (<= 5) | "
          "identity dist median/max (<= 0.45) | face found (>= 95%), HOG / CenterFace | ms/frame 512x512 |")
    print("|---|---|---|---|---|---|---|")
    for p in r["pairs"]:
        e = p["pose_change_error_deg"]
        print(f"| {p['portrait']} | {p['driver']} | {p['blendshape_change_correlation']:.2f} | "
              f"{e['yaw']:.1f}/{e['pitch']:.1f}/{e['roll']:.1f} | {p['identity_distance_median']:.3f}/"
              f"{p['identity_distance_max']:.3f} | {p['face_found']:.0%} / {p['face_found_centerface']:.0%} | "
              f"{p['ms_per_frame']:.1f} |")
    corr = [p["blendshape_change_correlation"] for p in r["pairs"]]
    fps = [1000 / p["ms_per_frame"] for p in r["pairs"]]
    print(f"mean blendshape change correlation {np.mean(corr):.2f}; speed {min(fps):.1f}-{max(fps):.1f} fps")
