"""Blender add-on figures (issue 8): time to process a 10 s 640x360 strip per mode through the
add-on (real bpy 5.0.1, operator to placed strip) against the same range through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = ["anonymize", "paint", "animate"]


def report(shared: Path, out_dir: Path | None = None) -> dict:
    sys.path.insert(0, str(REPO / "plugins" / "blender"))
    from build_extension import build

    work = Path(tempfile.mkdtemp(prefix="facepaint-blender-bench-"))
    clip = work / "strip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(shared / "video" / "heads" / "s32.mp4"),
                    "-t", "10.6", "-vf", "scale=640:360", "-r", "25", "-c:v", "libx264", "-an", str(clip)], check=True)
    portrait = shared / "images" / "paintings" / "mona_lisa.jpg"
    facepaint = str(Path(sys.executable).parent / "facepaint")
    out = work / "report.json"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(work / "user"))
    subprocess.run([str(REPO / ".venv-blender" / "bin" / "python"), str(REPO / "tests" / "blender_vse_script.py"),
                    str(build(work / "dist")), facepaint, str(clip), str(work / "out"), str(out),
                    "--modes", ",".join(MODES), "--portrait", str(portrait)], check=True, capture_output=True, env=env)
    result = json.loads(out.read_text())
    source = result["source"]
    first, count = int(source["frame_final_start"] - source["frame_start"]), int(source["frame_final_end"]
                                                                               - source["frame_final_start"])
    rows = []
    for mode in MODES:
        cmd = [facepaint, mode, str(clip), str(work / f"cli-{mode}.mkv")]
        if mode == "animate":
            cmd = [facepaint, mode, str(portrait), str(clip), str(work / f"cli-{mode}.mkv")]
        if mode == "paint":
            cmd += ["--style", "starry-night"]
        start = time.perf_counter()
        subprocess.run(cmd + ["--frames", f"{first}:{count}", "--lossless", "-q"], check=True, capture_output=True)
        cli = time.perf_counter() - start
        addon = result["modes"][mode]["seconds"]
        rows.append({"mode": mode, "frames": count, "addon_s": addon, "cli_s": cli, "overhead": addon / cli - 1})
    return {"strip": f"640x360, {count} visible frames (10 s at 25 fps)", "rows": rows}


def print_report(r: dict) -> None:
    print(f"\n## Blender add-on ({r['strip']}): operator to placed strip vs the same range through the CLI")
    print("| mode | add-on s | CLI s | add-on adds (goal <= 10%) |")
    print("|---|---|---|---|")
    for row in r["rows"]:
        print(f"| {row['mode']} | {row['addon_s']:.1f} | {row['cli_s']:.1f} | {row['overhead']:+.1%} |")
