"""Test driver loaded into real OBS beside facepaint_obs.py (tests/test_obs.py): adds the facepaint
filter to the media source "face" (as a user would), records for a few seconds, then writes a
marker file. Settings come from the environment: FACEPAINT_EXE, OBS_TEST_SECONDS, OBS_TEST_DONE,
OBS_TEST_FILTER (0: record without the filter, for the lag comparison), OBS_TEST_PORTRAIT (a picture:
add a "facepaint portrait" source driven by "face" instead of the filter), OBS_TEST_RELOAD_AT (seconds
into the recording at which FACEPAINT_SCRIPT is reloaded as Reload Scripts does). Recording starts
once the engine runs."""

import ctypes
import os

import obspython as obs

state = {"step": 0, "running": 0}


def engine_running() -> bool:
    """Whether facepaint's script has logged its engine running (OBS writes script prints to its log
    file as they come): recording starts only then, so a slow first start (cold disk, busy CI machine)
    does not fill the recording with start-up frames."""
    logs = os.path.join(os.environ["HOME"], ".config", "obs-studio", "logs")
    try:
        latest = max((os.path.join(logs, n) for n in os.listdir(logs)), key=os.path.getmtime)
        with open(latest, errors="replace") as f:
            return "facepaint: engine running" in f.read()
    except (OSError, ValueError):
        return False


def tick():
    state["step"] += 1
    if state["step"] == 1:
        if os.environ.get("OBS_TEST_PORTRAIT"):
            add_portrait(os.environ["OBS_TEST_PORTRAIT"])
        elif os.environ.get("OBS_TEST_FILTER", "1") == "1":
            source = obs.obs_get_source_by_name("face")
            settings = obs.obs_data_create()
            obs.obs_data_set_string(settings, "executable", os.environ["FACEPAINT_EXE"])
            obs.obs_data_set_int(settings, "delay", int(os.environ.get("OBS_TEST_DELAY", "24")))
            flt = obs.obs_source_create_private("facepaint_filter", "facepaint", settings)
            obs.obs_source_filter_add(source, flt)
            obs.obs_data_release(settings)
            obs.obs_source_release(flt)
            obs.obs_source_release(source)
    elif not state["running"]:
        # Without the filter there is no engine to wait for; with it, wait for the engine (at most a
        # minute), then two more seconds for its first results to come through the delay.
        if os.environ.get("OBS_TEST_FILTER", "1") != "1" and not os.environ.get("OBS_TEST_PORTRAIT"):
            state["running"] = state["step"] + 1
        elif engine_running() or state["step"] > 60:
            state["running"] = state["step"] + 2
    elif state["step"] == state["running"]:
        obs.obs_frontend_recording_start()
    elif state["step"] == state["running"] + int(os.environ.get("OBS_TEST_SECONDS", "8")):
        obs.obs_frontend_recording_stop()
    elif int(os.environ.get("OBS_TEST_RELOAD_AT") or 0) > 0 and \
            state["step"] == state["running"] + int(os.environ["OBS_TEST_RELOAD_AT"]):
        reload_facepaint_script()  # alone in its tick: the reload resets OBS's current-script pointer


def reload_facepaint_script():
    """What Tools > Scripts > Reload Scripts does to facepaint_obs.py, mid-recording: libobs-scripting's
    obs_script_reload (script_unload, then the module re-executed in place by PyImport_ReloadModule,
    then script_load). The frontend keeps its own script handles private, so this opens a second
    handle on the same file (obs_script_create imports the already loaded module: nothing runs again)
    and reloads through it."""
    lib = ctypes.CDLL("libobs-scripting.so.29")
    lib.obs_script_create.restype = ctypes.c_void_p
    lib.obs_script_create.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.obs_script_reload.restype = ctypes.c_bool
    lib.obs_script_reload.argtypes = [ctypes.c_void_p]
    script = lib.obs_script_create(os.environ["FACEPAINT_SCRIPT"].encode(), None)
    print(f"obs_driver: facepaint_obs.py reloaded: {bool(script) and lib.obs_script_reload(script)}")


def add_portrait(picture):
    settings = obs.obs_data_create()
    obs.obs_data_set_string(settings, "portrait", picture)
    obs.obs_data_set_string(settings, "driver", "face")
    obs.obs_data_set_string(settings, "executable", os.environ["FACEPAINT_EXE"])
    source = obs.obs_source_create("facepaint_portrait", "portrait", settings, None)
    scene_source = obs.obs_frontend_get_current_scene()
    item = obs.obs_scene_add(obs.obs_scene_from_source(scene_source), source)
    obs.obs_sceneitem_set_bounds_type(item, obs.OBS_BOUNDS_SCALE_INNER)
    bounds = obs.vec2()
    bounds.x, bounds.y = 640.0, 360.0
    obs.obs_sceneitem_set_bounds(item, bounds)
    obs.obs_source_release(scene_source)
    obs.obs_source_release(source)
    obs.obs_data_release(settings)


def on_event(event):
    if event == obs.OBS_FRONTEND_EVENT_RECORDING_STOPPED:
        obs.timer_remove(tick)
        with open(os.environ["OBS_TEST_DONE"], "w") as f:
            f.write("stopped\n")


def script_load(settings):
    obs.obs_frontend_add_event_callback(on_event)
    obs.timer_add(tick, 1000)
