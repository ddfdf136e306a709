"""`make bench`: accuracy and speed figures on this machine.

Reads ../shared/data (FACEPAINT_SHARED points at ../shared); prints a report and writes JSON
to .bench/: the face stack here (face_stack.json; issue 2's targets: recall >= 95% of faces
>= 24 px, <= 1 false face per 10 images, <= 15 ms per 640x360 frame with one face), then
each section in SECTIONS (anonymize, paint, animate, Blender add-on, OBS adapter, ffmpeg pipe)
with its contact sheets. `python -m benchmarks.run --only NAME` runs one section.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from facepaint.detect import box_iou  # noqa: E402
from facepaint.engine import Engine  # noqa: E402
from facepaint.media import MediaReader, read_image  # noqa: E402
from facepaint.types import Frame  # noqa: E402

from .landmarks68 import nme, to_68  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEPAINT_SHARED", REPO.parent / "shared")) / "data"
GROUPS = SHARED / "images" / "groups"
MIN_FACE = 24
CONFIGS = {
    "every frame": dict(detect_every=1, detect_max_side=1280),
    "tracking": dict(detect_every=10, detect_max_side=480),
    "live (async detect)": dict(detect_every=1, detect_max_side=640, detect_async=True),
}


def labelled_faces() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    labels: dict[str, list] = {}
    for xml in sorted(GROUPS.glob("*_with_face_landmarks.xml")):
        for image in ET.parse(xml).getroot().iter("image"):
            faces = labels.setdefault(image.get("file"), [])
            for box in image.iter("box"):
                x, y, w, h = (int(box.get(k)) for k in ("left", "top", "width", "height"))
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name")))
                points = np.array([[float(p.get("x")), float(p.get("y"))] for p in parts], np.float32)
                faces.append((np.array([x, y, x + w, y + h], np.float32), points))
    return labels


def bench_detection(engine_factory) -> dict:
    labels = labelled_faces()
    images = sorted(labels) + ["dogs.jpg"]  # dogs.jpg: no human face at all
    found = total = false_faces = 0
    errors, per_image = [], []
    for name in images:
        truth = labels.get(name, [])
        with engine_factory() as engine:
            faces = engine.process(Frame(read_image(GROUPS / name))).faces
        boxes = np.array([f.box for f in faces], np.float32).reshape(-1, 4)
        tboxes = np.array([t[0] for t in truth], np.float32).reshape(-1, 4)
        iou = box_iou(tboxes, boxes) if len(truth) and len(faces) else np.zeros((len(truth), len(faces)))
        big = [i for i, t in enumerate(truth) if max(t[0][2] - t[0][0], t[0][3] - t[0][1]) >= MIN_FACE]
        hit = [i for i in big if iou.shape[1] and iou[i].max() >= 0.3]
        found += len(hit)
        total += len(big)
        unmatched = int((iou.max(axis=0) < 0.3).sum()) if len(truth) and len(faces) else len(faces)
        false_faces += unmatched
        for i in range(len(truth)):
            if iou.shape[1] and iou[i].max() >= 0.3:
                face = faces[int(iou[i].argmax())]
                if face.landmarks is not None:
                    errors.append(nme(to_68(face.landmarks), truth[i][1]))
        per_image.append(f"{name}: {len(hit)}/{len(big)} found, {unmatched} unlabelled")
    collage = 0
    if (GROUPS / "bald_guys.jpg").exists():
        with engine_factory() as engine:
            collage = len(engine.process(Frame(read_image(GROUPS / "bald_guys.jpg"))).faces)
    return {
        "images": len(images),
        "faces_min_24px": total,
        "recall": found / max(total, 1),
        "false_faces": false_faces,
        "false_faces_per_10_images": 10 * false_faces / len(images),
        "collage_faces_found_of_25": collage,
        "landmark_nme_mean": float(np.mean(errors)) if errors else None,
        "landmark_nme_median": float(np.median(errors)) if errors else None,
        "landmark_faces": len(errors),
        "per_image": per_image,
    }


def _video_frames(path: Path, n: int, size: tuple[int, int]) -> list[np.ndarray]:
    import cv2

    out = []
    with MediaReader(path) as reader:
        for frame in reader.frames():
            out.append(cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA))
            if len(out) == n:
                break
    return out


def _mosaic(clips: list[list[np.ndarray]], size: tuple[int, int]) -> list[np.ndarray]:
    """Five talking heads on one canvas: 3 on top, 2 below."""
    import cv2

    w, h = size
    cw, ch = w // 3, h // 2
    frames = []
    for i in range(min(len(c) for c in clips)):
        canvas = np.full((h, w, 3), 40, np.uint8)
        for k, clip in enumerate(clips):
            row, col = divmod(k, 3)
            tile = cv2.resize(clip[i], (cw, ch), interpolation=cv2.INTER_AREA)
            x = col * cw + (cw // 2 if row else 0)
            canvas[row * ch:(row + 1) * ch, x:x + cw] = tile
        frames.append(canvas)
    return frames


def bench_speed(n: int = 60) -> list[dict]:
    one_face = SHARED / "video" / "heads" / "s32.mp4"
    talking = sorted((SHARED / "video" / "talking").glob("grid_*.mpg"))[:5]
    rows = []
    for size in [(640, 360), (1280, 720)]:
        scenes = {
            1: _video_frames(one_face, n, size),
            5: _mosaic([_video_frames(p, n, (360, 288)) for p in talking], size),
        }
        for faces, frames in scenes.items():
            for config, options in CONFIGS.items():
                with Engine(device="cpu", **options) as engine:
                    results = [engine.process(Frame(f, index=i, pts=i, time_base=Fraction(1, 25)))
                               for i, f in enumerate(frames)]
                warm = results[5:]
                seen = statistics.mean(len(r.faces) for r in warm)
                stage = {k: statistics.mean(r.timings.get(k, 0.0) for r in warm)
                         for k in ("detect", "landmarks", "track")}
                rows.append({
                    "size": f"{size[0]}x{size[1]}", "faces": faces, "config": config,
                    "ms_per_frame": statistics.mean(r.timings["total"] for r in warm),
                    "ms_p95": float(np.percentile([r.timings["total"] for r in warm], 95)),
                    "faces_seen": seen, **{f"ms_{k}": v for k, v in stage.items()},
                })
    return rows


def bench_smoothing() -> dict:
    """Landmark jitter on a still talking head and the mean offset from the raw fits on a 200 px/s
    pan (lag plus the jitter removed), raw fits vs the face stack's steadied landmarks."""
    import facepaint.track as track_module
    from facepaint.facestack import FaceStack
    from facepaint.samples import load_sample

    raw_fits = []
    original = track_module.Track.measure_landmarks

    def record(self, landmarks, *args, **kwargs):
        raw_fits.append((landmarks.copy(), self.size))
        return original(self, landmarks, *args, **kwargs)

    def collect(frames):
        raw_fits.clear()
        stack, out = FaceStack(detect_every=1), []
        track_module.Track.measure_landmarks = record
        try:
            for frame in frames:
                faces = stack(frame)
                out.append((frame.time, raw_fits[-1][0], faces[0].landmarks, raw_fits[-1][1]))
        finally:
            track_module.Track.measure_landmarks = original
            stack.close()
        return out

    with MediaReader(SHARED / "video" / "talking" / "grid_bbaf2n.mpg") as reader:
        still = collect(list(reader.frames()))
    rigid = [1, 4, 6, 33, 133, 168, 263, 362]  # nose and eye corners: no expression motion

    def jitter(series):
        return float(np.abs(np.diff(np.array([s[rigid, :2] for s in series]), 2, axis=0)).mean())

    astronaut = load_sample("sample:astronaut")
    pan = [Frame(np.ascontiguousarray(astronaut[60:380, 40 + 8 * i:360 + 8 * i]), index=i, pts=i,
                 time_base=Fraction(1, 25)) for i in range(20)]
    moving = collect(pan)
    lag = float(np.mean([np.abs(sm[:, :2] - raw[:, :2]).mean() for _, raw, sm, _ in moving[5:]]))
    return {"jitter_raw_px": jitter([s[1] for s in still]), "jitter_smoothed_px": jitter([s[2] for s in still]),
            "pan_lag_px": lag, "face_px": float(still[0][3])}


# The sections after the face stack, in the order `make bench` runs them. Each module has
# report(shared, out_dir) (out_dir: where contact sheets and clips go) and print_report(results);
# `--only NAME` runs one.
SECTIONS = ["anonymize", "paint", "animate", "blender", "obs", "pipe"]


def run_section(name: str) -> None:
    import importlib

    module = importlib.import_module(f".{name}", __package__)
    out_dir = REPO / ".bench"
    out_dir.mkdir(exist_ok=True)
    results = module.report(SHARED, out_dir)
    module.print_report(results)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"wrote .bench/{name}.json")


def main() -> int:
    if "--only" in sys.argv:  # python -m benchmarks.run --only paint
        name = sys.argv[sys.argv.index("--only") + 1] if sys.argv.index("--only") + 1 < len(sys.argv) else ""
        if name not in SECTIONS:
            print(f"--only takes one of: {', '.join(SECTIONS)}", file=sys.stderr)
            return 2
        run_section(name)
        return 0
    if not SHARED.exists():
        print(f"benchmarks need {SHARED} (../shared/data beside the checkout)", file=sys.stderr)
        return 2
    report: dict = {"machine": f"{os.cpu_count()} CPU cores", "date": time.strftime("%Y-%m-%d")}
    print("face detection and landmarks on ../shared/data/images/groups ...", file=sys.stderr)
    report["detection"] = bench_detection(lambda: Engine(device="cpu", detect_every=1))
    print("smoothing ...", file=sys.stderr)
    report["smoothing"] = bench_smoothing()
    print("speed ...", file=sys.stderr)
    report["speed"] = bench_speed()

    d = report["detection"]
    print(f"\n## Detection ({d['images']} images, {d['faces_min_24px']} labelled faces >= {MIN_FACE} px)")
    print(f"recall {d['recall']:.1%} (goal >= 95%), false faces {d['false_faces']} = "
          f"{d['false_faces_per_10_images']:.1f} per 10 images (goal <= 1); collage: {d['collage_faces_found_of_25']}/25")
    for line in d["per_image"]:
        print("  " + line)
    if d["landmark_nme_mean"] is not None:
        print(f"\n## Landmarks: NME (68 points, inter-ocular) mean {d['landmark_nme_mean']:.3f}, "
              f"median {d['landmark_nme_median']:.3f} over {d['landmark_faces']} faces")
    s = report["smoothing"]
    print(f"\n## Smoothing: jitter {s['jitter_raw_px']:.3f} px raw -> {s['jitter_smoothed_px']:.3f} px smoothed "
          f"({s['face_px']:.0f} px face); lag on a 200 px/s pan {s['pan_lag_px']:.2f} px")
    print("\n## Face stack time per frame (ms, 2-core CPU; goal <= 15 ms at 640x360 with 1 face)")
    print("| size | faces | config | mean | p95 | detect | landmarks | track | faces seen |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in report["speed"]:
        print(f"| {r['size']} | {r['faces']} | {r['config']} | {r['ms_per_frame']:.1f} | {r['ms_p95']:.1f} | "
              f"{r['ms_detect']:.1f} | {r['ms_landmarks']:.1f} | {r['ms_track']:.2f} | {r['faces_seen']:.1f} |")
    out = REPO / ".bench" / "face_stack.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out.relative_to(REPO)}")

    for name in SECTIONS:
        run_section(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
