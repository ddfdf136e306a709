"""facepaint: anonymize, paint and animate faces. See ARCHITECTURE.md for the map."""

__version__ = "0.1.0"

from .errors import FacepaintError  # noqa: E402
from .types import Face, Frame, FrameResult, Pose  # noqa: E402

__all__ = ["Engine", "Face", "FacepaintError", "Frame", "FrameResult", "Pose", "__version__"]


def __getattr__(name):
    # The engine pulls in torch, onnxruntime and MediaPipe: import it only when asked.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
