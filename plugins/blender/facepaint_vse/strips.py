"""Strips across Blender versions, and where a strip's visible frames come from. No bpy import:
functions take Blender's objects, so the version logic is testable without Blender.

Measured (../shared/brief/hosts.md): 4.2 names the collection ``sequences`` (``sequences_all``),
4.4+ ``strips`` (``strips_all``), 5.0 only the new names. ``frame_final_start``/``frame_final_end``
(end exclusive) and ``frame_start`` mean the same in all: with no retiming, the source frame under
timeline frame f is f - frame_start.
"""

from __future__ import annotations

SOURCE_KEY = "facepaint_source"  # custom property on a result strip: the name of its source strip
MODE_KEY = "facepaint_mode"


def strip_collection(sequence_editor):
    """Where new strips are made: ``strips`` (4.4+) or ``sequences`` (4.2)."""
    return sequence_editor.strips if hasattr(sequence_editor, "strips") else sequence_editor.sequences


def all_strips(sequence_editor):
    """Every strip, inside meta strips too."""
    if hasattr(sequence_editor, "strips_all"):
        return sequence_editor.strips_all
    return sequence_editor.sequences_all


def visible_source_range(strip) -> tuple[int, int]:
    """(first source frame, frame count) of what the strip shows on the timeline (trims and offsets
    respected)."""
    first = int(round(strip.frame_final_start - strip.frame_start))
    count = int(round(strip.frame_final_end - strip.frame_final_start))
    return max(0, first), max(0, count)


def image_strip_path(strip, abspath) -> str:
    """The file of an image strip's first element."""
    import os

    return abspath(os.path.join(strip.directory, strip.elements[0].filename))


def results_of(sequence_editor, source_name: str, mode: str) -> list:
    """Strips facepaint made earlier from ``source_name`` in ``mode`` (re-running replaces them)."""
    return [s for s in all_strips(sequence_editor)
            if s.get(SOURCE_KEY) == source_name and s.get(MODE_KEY) == mode]


def place_result(sequence_editor, source, path: str, mode: str):
    """Put the processed clip one channel above ``source`` at the same timeline start, replacing
    an earlier result of the same mode. Returns the new strip."""
    collection = strip_collection(sequence_editor)
    for old in results_of(sequence_editor, source.name, mode):
        collection.remove(old)
    strip = collection.new_movie(name=f"{source.name} {mode}", filepath=path,
                                 channel=min(source.channel + 1, 128), frame_start=int(source.frame_final_start))
    strip[SOURCE_KEY] = source.name
    strip[MODE_KEY] = mode
    return strip
