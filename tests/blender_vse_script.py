"""Runs inside the Blender venv (bpy as a module), driven by tests/test_blender.py and the benchmark.

    python tests/blender_vse_script.py EXTENSION_ZIP FACEPAINT CLIP OUT_DIR JSON [--modes anonymize,paint]
        [--portrait PICTURE] [--sound]

Installs and enables the extension from its zip, builds a scene with a trimmed, offset movie strip of
CLIP, runs the add-on's operator for each mode (twice for the first, to check it replaces its
result), renders the sequencer at a few timeline frames and writes what it saw to JSON.
"""

import json
import sys
import time
from pathlib import Path

import bpy

zip_path, facepaint, clip, out_dir, report_path = sys.argv[1:6]
modes = sys.argv[sys.argv.index("--modes") + 1].split(",") if "--modes" in sys.argv else ["anonymize"]
out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
package = "bl_ext.user_default.facepaint_vse"
assert package in bpy.context.preferences.addons, "extension not enabled"
prefs = bpy.context.preferences.addons[package].preferences
prefs.executable = facepaint
prefs.cache_folder = str(out / "cache")

scene = bpy.context.scene
editor = scene.sequence_editor_create()
collection = editor.strips if hasattr(editor, "strips") else editor.sequences
source = collection.new_movie(name="interview", filepath=clip, channel=1, frame_start=11)
# Trim: hide the first 7 and the last 5 frames of the clip.
source.frame_final_start = int(source.frame_start) + 7
source.frame_final_end = int(source.frame_start) + source.frame_duration - 5
scene.render.resolution_x, scene.render.resolution_y = source.elements[0].orig_width, source.elements[0].orig_height
scene.render.resolution_percentage = 100
scene.render.fps = round(source.fps)
scene.frame_start, scene.frame_end = int(source.frame_final_start), int(source.frame_final_end) - 1
scene.view_settings.view_transform = "Standard"
scene.render.image_settings.file_format = "PNG"
if "--portrait" in sys.argv:
    scene.facepaint.portrait = sys.argv[sys.argv.index("--portrait") + 1]
sound = collection.new_sound(name="voice", filepath=clip, channel=3, frame_start=11) if "--sound" in sys.argv else None

report = {"source": {"name": source.name, "channel": source.channel, "frame_start": source.frame_start,
                     "frame_final_start": source.frame_final_start, "frame_final_end": source.frame_final_end},
          "modes": {}}
for mode in modes:
    for s in collection:
        s.select = s == source
    runs = 2 if mode == modes[0] else 1
    for _ in range(runs):
        start = time.perf_counter()
        result = bpy.ops.sequencer.facepaint(mode=mode)
        seconds = time.perf_counter() - start
    results = [s for s in collection if s.get("facepaint_source") == source.name and s.get("facepaint_mode") == mode]
    entry = {"operator": sorted(result), "seconds": seconds, "results": len(results)}
    if results:
        strip = results[0]
        entry.update(channel=strip.channel, frame_final_start=strip.frame_final_start,
                     frame_final_end=strip.frame_final_end, filepath=bpy.path.abspath(strip.filepath))
        frames = {}
        for f in (scene.frame_start, (scene.frame_start + scene.frame_end) // 2, scene.frame_end):
            scene.frame_set(f)
            scene.render.filepath = str(out / f"{mode}_{f:04d}.png")
            bpy.ops.render.render(write_still=True)
            frames[f] = scene.render.filepath
        entry["renders"] = frames
        strip.mute = True  # the next mode renders its own result, not this one
    report["modes"][mode] = entry
if sound is not None:
    report["sound"] = {"channel": sound.channel, "frame_start": sound.frame_start,
                       "frame_final_start": sound.frame_final_start}
Path(report_path).write_text(json.dumps(report, indent=1))
