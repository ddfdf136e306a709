"""facepaint: anonymize, paint and animate faces. See ARCHITECTURE.md for the map."""

import os

__version__ = "0.1.0"

# The engine runs its own threads (detector, landmarks, the mode) on few cores; OpenBLAS's worker
# threads spin while they wait and starve them (measured: a 4000 x 6 least-squares fit per face
# took anonymize from 27 to 42 ms a frame on 2 cores). One BLAS thread, unless the user set it.
# (Effective only when numpy is not imported yet, as in the `facepaint` command and service.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .errors import FacepaintError  # noqa: E402
from .types import Face, Frame, FrameResult, Pose  # noqa: E402

__all__ = ["Engine", "Face", "FacepaintError", "Frame", "FrameResult", "Pose", "__version__"]


def __getattr__(name):
    # The engine pulls in torch, onnxruntime and MediaPipe: import it only when asked.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
