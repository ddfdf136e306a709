"""Paint figures (issue 4), on ../shared/data.

Expression: fer's 7-class emotion agreement between original and ``--region face`` output (and the
face stack's blendshapes). Outside the faces: mean absolute change of pixels outside the face boxes.
``anonymize --style``: re-identification by dlib's recogniser and emotion agreement. Video: face-
region flicker against the input's. Speed: engine only (no decode/encode), 640x360 and 1280x720.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facepaint.engine import Engine
from facepaint.media import read_image
from facepaint.types import Frame

from .anonymize import (_pair, _write_sheet, bench_known_motion, bench_stills, bench_video_stability, engine_ms_per_frame,
                        print_known_motion, still_images)

STYLES = ["starry-night", "the-scream", "the-great-wave", "composition-vii", "oil"]


def bench_outside(shared: Path, images: list[Path], style: str) -> dict:
    """Mean |change| (0-255) of the pixels outside every face, face region. A face here is what the
    fallback hides too (``hide.hide_region``: the box grown to forehead, hairline and chin), since the
    paint's mask reaches the hairline on purpose; the bare detector box is reported beside it."""
    from facepaint.hide import hide_region

    changes, changes_box = [], []
    with Engine(mode="paint", device="cpu", style=style) as engine:
        for path in images:
            image = read_image(path)
            engine.reset()
            result = engine.process(Frame(image))
            outside = np.ones(image.shape[:2], bool)
            outside_box = np.ones(image.shape[:2], bool)
            for face in result.faces:
                x0, y0, x1, y1 = face.box.astype(int)
                outside_box[max(0, y0):y1, max(0, x0):x1] = False
                region = hide_region(face, image.shape[:2])
                if region is not None:
                    outside[region] = False
            diff = np.abs(result.image.astype(int) - image).mean(axis=2)
            if outside.any():
                changes.append(float(diff[outside].mean()))
            if outside_box.any():
                changes_box.append(float(diff[outside_box].mean()))
    return {"images": len(changes), "mean_change_outside": float(np.mean(changes)), "max_image": float(np.max(changes)),
            "mean_change_outside_box": float(np.mean(changes_box))}


def contact_sheet(shared: Path, path: Path) -> None:
    """Originals, then starry-night, the-scream, oil (face), the-great-wave (frame), anonymize + style."""
    images = still_images(shared)
    picks = [images[i] for i in np.linspace(0, len(images) - 1, 8).astype(int)]
    configs = [dict(mode="paint", style="starry-night"), dict(mode="paint", style="the-scream"),
               dict(mode="paint", style="oil"), dict(mode="paint", style="the-great-wave", region="frame"),
               dict(mode="anonymize", style="composition-vii")]
    columns = []
    for file in picks:
        image = read_image(file)
        column = []
        for config in configs:
            options = dict(config)
            with Engine(mode=options.pop("mode"), device="cpu", **options) as engine:
                result = engine.process(Frame(image))
            if not result.faces:
                break
            before, after = np.split(_pair(image, result.image, max(result.faces, key=lambda f: f.size).box), 2)
            column += [after] if column else [before, after]
        if len(column) == len(configs) + 1:
            columns.append(np.vstack(column))
    _write_sheet(columns, path)


def bench_speed(shared: Path) -> list[dict]:
    from .run import _mosaic, _video_frames

    rows = []
    talking = sorted((shared / "video" / "talking").glob("grid_*.mpg"))[:5]
    for size in [(640, 360), (1280, 720)]:
        scenes = {1: _video_frames(shared / "video" / "heads" / "s32.mp4", 40, size),
                  5: _mosaic([_video_frames(p, 40, (360, 288)) for p in talking], size)}
        for faces, frames in scenes.items():
            for region in ("face", "frame", "person"):
                if region != "face" and faces == 5:
                    continue
                with Engine.pipelined("paint", 5, device="cpu", style="starry-night", region=region) as engine:
                    ms = engine_ms_per_frame(engine, frames)
                rows.append({"size": f"{size[0]}x{size[1]}", "faces": faces, "region": region,
                             "ms_per_frame": ms, "fps": 1000 / ms})
    return rows


def report(shared: Path, out_dir: Path) -> dict:
    images = still_images(shared)
    results: dict = {"face_region": {}}
    for style in STYLES:
        print(f"paint: {style}, face region ...", file=sys.stderr)
        subset = images if style == "starry-night" else images[::3]
        stills = bench_stills(shared, mode="paint", images=subset, style=style)
        results["face_region"][style] = {k: stills[k] for k in ("faces", "emotion_agreement", "blendshape_correlation",
                                                                 "still_a_face_hog", "pose_error_deg_mean")}
    print("paint: pixels outside the faces ...", file=sys.stderr)
    results["outside"] = bench_outside(shared, images[::2], "starry-night")
    print("paint: anonymize --style ...", file=sys.stderr)
    stills = bench_stills(shared, mode="anonymize", style="starry-night")
    results["anonymize_style"] = {k: stills[k] for k in ("faces", "reidentified", "reidentified_rate",
                                                         "identity_distance_median", "emotion_agreement",
                                                         "blendshape_correlation", "still_a_face_hog")}
    print("paint: video flicker ...", file=sys.stderr)
    results["video"] = {region: bench_video_stability(shared, frames=60, mode="paint", style="starry-night",
                                                      region=region) for region in ("face", "frame")}
    print("paint: flicker against a known motion ...", file=sys.stderr)
    results["known_motion"] = {region: bench_known_motion(shared, mode="paint", style="starry-night", region=region)
                               for region in ("face", "frame")}
    print("paint: speed ...", file=sys.stderr)
    results["speed"] = bench_speed(shared)
    print("paint: contact sheet ...", file=sys.stderr)
    contact_sheet(shared, out_dir / "paint_sheet.png")
    return results


def print_report(r: dict) -> None:
    print("\n## Paint, face region (emotion goal >= 75%)")
    print("| style | faces | emotion agreement | blendshape corr | still a face (HOG) |")
    print("|---|---|---|---|---|")
    for style, s in r["face_region"].items():
        print(f"| {style} | {s['faces']} | {s['emotion_agreement']:.1%} | {s['blendshape_correlation']:.3f} | "
              f"{s['still_a_face_hog']} |")
    o = r["outside"]
    print(f"pixels outside the faces (box grown to hairline and chin): mean change {o['mean_change_outside']:.2f}/255 "
          f"over {o['images']} images (goal <= 4), worst image {o['max_image']:.2f}; outside the bare detector "
          f"boxes {o['mean_change_outside_box']:.2f}")
    a = r["anonymize_style"]
    print(f"\nanonymize --style starry-night, {a['faces']} faces: re-identified {a['reidentified']} = "
          f"{a['reidentified_rate']:.1%} (goal <= 1%), identity distance median {a['identity_distance_median']:.3f}; "
          f"emotion agreement {a['emotion_agreement']:.1%} (goal >= 70%); still a face (HOG) {a['still_a_face_hog']}")
    # Frame differences count motion too (a painting has more contrast than skin, so the same motion
    # changes more pixels); the second pair compares each frame with the previous one moved by the
    # input's optical flow: what the motion does not explain.
    print("\n| region | clip | frames | frame difference in -> out | ratio (goal <= 1.5) "
          "| not explained by motion in -> out | ratio |")
    print("|---|---|---|---|---|---|---|")
    for region, clips in r["video"].items():
        for v in clips:
            print(f"| {region} | {v['clip']} | {v['frames']} | {v['flicker_input']:.2f} -> {v['flicker_output']:.2f} "
                  f"| {v['flicker_output'] / v['flicker_input']:.2f} | {v['unexplained_flicker_input']:.2f} -> "
                  f"{v['unexplained_flicker_output']:.2f} "
                  f"| {v['unexplained_flicker_output'] / v['unexplained_flicker_input']:.2f} |")
    for region, rows in r.get("known_motion", {}).items():
        print(f"\nregion {region}:", end="")
        print_known_motion(rows)
    print("\n| size | faces | region | ms/frame | fps (goal: face region >= 10 at 640x360) |")
    print("|---|---|---|---|---|")
    for e in r["speed"]:
        print(f"| {e['size']} | {e['faces']} | {e['region']} | {e['ms_per_frame']:.1f} | {e['fps']:.1f} |")
