"""facepaint for Blender's Video Sequence Editor: anonymize, paint and animate movie strips.

Strip > facepaint (and the sidebar's facepaint tab) runs the engine on each selected movie strip's
visible frames in a separate ``facepaint`` process, shows progress in the status bar (Esc cancels)
and puts the result, a lossless FFV1 clip, one channel above at the same start. Nothing heavy is
imported into Blender: only the standard library and bpy.
"""

from __future__ import annotations

import time

import bpy

from . import jobs, strips

MODE_ITEMS = [("anonymize", "Anonymize", "Replace every face with the face of nobody"),
              ("paint", "Paint", "Paint the faces in a painter's style"),
              ("animate", "Animate", "Drive a portrait (image strip or file) with the movie strip's face")]


def _prefs(context) -> "FacepaintPreferences":
    return context.preferences.addons[__package__].preferences


class FacepaintPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    executable: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="facepaint executable", subtype="FILE_PATH", default="",
        description="Path to the facepaint command (empty: found on PATH)")
    cache_folder: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Cache folder", subtype="DIR_PATH", default="",
        description="Where processed clips go (empty: a 'facepaint' folder beside the saved .blend)")

    def draw(self, context):
        layout = self.layout
        if layout is None:
            return
        layout.prop(self, "executable")
        layout.prop(self, "cache_folder")
        found = jobs.find_executable(self.executable)
        layout.label(text=f"Engine: {found}" if found else "Engine: not found (install facepaint or set the path)",
                          icon="CHECKMARK" if found else "ERROR")


class FacepaintSettings(bpy.types.PropertyGroup):
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0,  # type: ignore[valid-type]
                                description="Choice of synthetic people (anonymize)")
    fallback: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Fallback", default="mosaic",
        items=[("mosaic", "Mosaic", ""), ("blur", "Blur", ""), ("solid", "Solid", "")],
        description="How faces that cannot be redrawn are hidden")
    style: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Style", default="starry-night",
        description="A named style (starry-night, the-scream, the-great-wave, composition-vii, oil, ...) or an "
                    "image file; for anonymize, empty means unpainted")
    anonymize_style: bpy.props.BoolProperty(name="Paint after anonymizing", default=False)  # type: ignore[valid-type]
    region: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Region", default="face", items=[("face", "Faces", ""), ("frame", "Whole frame", "")])
    keep: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Keep faces", subtype="FILE_PATH", default="",
        description="Reference photo(s) of people to leave untouched (separate several with ';')")
    portrait: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Portrait", subtype="FILE_PATH", default="",
        description="Portrait for animate when no image strip is selected")


def collect_options(settings: FacepaintSettings, mode: str, portrait: str = "") -> dict:
    keep = [bpy.path.abspath(p.strip()) for p in settings.keep.split(";") if p.strip()]
    options: dict = {"seed": settings.seed, "fallback": settings.fallback, "keep": keep, "region": settings.region}
    if mode == "paint" or (mode == "anonymize" and settings.anonymize_style):
        style = settings.style.strip()
        options["style"] = bpy.path.abspath(style) if style.startswith("//") else style
    if mode == "animate":
        options["portrait"] = portrait or bpy.path.abspath(settings.portrait)
    return options


class StripTask:
    """One selected strip being processed: the engine's runner plus what is needed to place it.
    Created and finished on the main thread; the runner works on its own."""

    def __init__(self, scene, strip, mode: str, options: dict, executable: str, cache_folder: str):
        first, count = strips.visible_source_range(strip)
        folder, relative = jobs.intermediate_folder(bpy.data.filepath, cache_folder and bpy.path.abspath(cache_folder))
        folder.mkdir(parents=True, exist_ok=True)
        output = folder / jobs.intermediate_name(strip.name, mode)
        self.scene, self.strip_name, self.mode, self.relative = scene, strip.name, mode, relative
        self.output = str(output)
        spec = jobs.JobSpec(mode, bpy.path.abspath(strip.filepath), first, count, self.output, options)
        self.runner = jobs.JobRunner(jobs.build_command(executable, spec)).start()

    def finish(self):
        """Place the result (main thread only). Returns the new strip."""
        editor = self.scene.sequence_editor
        source = next(s for s in strips.all_strips(editor) if s.name == self.strip_name)
        path = bpy.path.relpath(self.output) if self.relative else self.output
        return strips.place_result(editor, source, path, self.mode)


def start_tasks(context, mode: str) -> list[StripTask]:
    """Start the engine on every selected movie strip (animate: driven by them, portrait from a
    selected image strip or the sidebar). Raises RuntimeError with a message for the user."""
    prefs = _prefs(context)
    executable = jobs.find_executable(prefs.executable)
    if not executable:
        raise RuntimeError("facepaint executable not found: set it in the add-on preferences")
    editor = context.scene.sequence_editor
    if editor is None:
        raise RuntimeError("no strips in this scene")
    selected = [s for s in strips.all_strips(editor) if s.select]
    movies = [s for s in selected if s.type == "MOVIE" and s.get(strips.SOURCE_KEY) is None]
    if not movies:
        raise RuntimeError("select one or more movie strips")
    portrait = ""
    if mode == "animate":
        images = [s for s in selected if s.type == "IMAGE"]
        if images:
            portrait = strips.image_strip_path(images[0], bpy.path.abspath)
        if not portrait and not context.scene.facepaint.portrait:
            raise RuntimeError("animate needs a portrait: select an image strip or set Portrait in the sidebar")
    options = collect_options(context.scene.facepaint, mode, portrait)
    return [StripTask(context.scene, s, mode, options, executable, prefs.cache_folder) for s in movies]


class SEQUENCER_OT_facepaint(bpy.types.Operator):
    """Run facepaint on the selected movie strips (Esc cancels)"""

    bl_idname = "sequencer.facepaint"
    bl_label = "facepaint"
    bl_options = {"REGISTER"}

    mode: bpy.props.EnumProperty(items=MODE_ITEMS, name="Mode")  # type: ignore[valid-type]

    def invoke(self, context, event):
        try:
            self.tasks = start_tasks(context, self.mode)
        except (RuntimeError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.started = time.monotonic()
        self.timer = context.window_manager.event_timer_add(0.25, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):  # from scripts and F3 without events: run to the end, blocking
        try:
            tasks = start_tasks(context, self.mode)
        except (RuntimeError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for task in tasks:
            task.runner.wait()
        return self._finish(context, tasks)

    def modal(self, context, event):
        if event.type == "ESC":
            for task in self.tasks:
                task.runner.cancel()
            for task in self.tasks:
                task.runner.wait()
            self._cleanup(context)
            self.report({"WARNING"}, "facepaint cancelled")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        states = [t.runner.state for t in self.tasks]
        if "running" in states:
            done = sum(t.runner.progress for t in self.tasks) / len(self.tasks)
            context.workspace.status_text_set(
                f"facepaint {self.mode}: {done:.0%} of {len(self.tasks)} strip(s), "
                f"{time.monotonic() - self.started:.0f} s (Esc cancels)")
            return {"PASS_THROUGH"}
        self._cleanup(context)
        return self._finish(context, self.tasks)

    def _finish(self, context, tasks):
        failed = [t for t in tasks if t.runner.state != "done"]
        for task in tasks:
            if task.runner.state == "done":
                task.finish()
        if failed:
            self.report({"ERROR"}, f"facepaint failed on {failed[0].strip_name}: {failed[0].runner.error}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"facepaint {self.mode}: {len(tasks)} strip(s) done")
        return {"FINISHED"}

    def _cleanup(self, context):
        context.window_manager.event_timer_remove(self.timer)
        context.workspace.status_text_set(None)


class SEQUENCER_PT_facepaint(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "facepaint"
    bl_label = "facepaint"

    def draw(self, context):
        settings = context.scene.facepaint
        layout = self.layout
        if layout is None:
            return
        box = layout.box()
        box.label(text="Anonymize")
        box.prop(settings, "seed")
        box.prop(settings, "fallback")
        box.prop(settings, "anonymize_style")
        box.operator(SEQUENCER_OT_facepaint.bl_idname, text="Anonymize").mode = "anonymize"
        box = layout.box()
        box.label(text="Paint")
        box.prop(settings, "style")
        box.prop(settings, "region")
        box.operator(SEQUENCER_OT_facepaint.bl_idname, text="Paint").mode = "paint"
        layout.prop(settings, "keep")
        box = layout.box()
        box.label(text="Animate")
        box.prop(settings, "portrait")
        box.operator(SEQUENCER_OT_facepaint.bl_idname, text="Animate").mode = "animate"


class SEQUENCER_MT_facepaint(bpy.types.Menu):
    bl_label = "facepaint"

    def draw(self, context):
        if self.layout is None:
            return
        for mode, label, _ in MODE_ITEMS:
            self.layout.operator(SEQUENCER_OT_facepaint.bl_idname, text=label).mode = mode


def _strip_menu(self, context):
    if self.layout is not None:
        self.layout.menu("SEQUENCER_MT_facepaint")


CLASSES = (FacepaintPreferences, FacepaintSettings, SEQUENCER_OT_facepaint, SEQUENCER_PT_facepaint,
           SEQUENCER_MT_facepaint)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    # setattr: the stubs cannot know of a property an add-on adds to Scene.
    setattr(bpy.types.Scene, "facepaint",
            bpy.props.PointerProperty(type=FacepaintSettings))  # type: ignore[func-returns-value]
    bpy.types.SEQUENCER_MT_strip.append(_strip_menu)


def unregister():
    bpy.types.SEQUENCER_MT_strip.remove(_strip_menu)
    delattr(bpy.types.Scene, "facepaint")
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
