"""Which faces a mode treats: all of them, the largest only, or all but the people to keep.

``--keep REF.jpg`` (repeatable) leaves faces that match a reference photo untouched: a streamer
keeps their own face while bystanders are anonymized. Matching is strict (distance < 0.5, where
dlib's same-person threshold is 0.6) and is checked again every ``recheck`` frames, because a
face wrongly kept is a leak while a face wrongly treated is only a redraw.
"""

from __future__ import annotations

import numpy as np

from .errors import FacepaintError
from .types import Face

CHOICES = ("all", "largest")


class FaceSelector:
    def __init__(self, which: str = "all", keep: list | tuple = (), threshold: float = 0.5, recheck: int = 15):
        if which not in CHOICES:
            raise FacepaintError(f"unknown --faces {which!r} (choose from {', '.join(CHOICES)})")
        self.which = which
        self.threshold = threshold
        self.recheck = recheck
        self.references: list[np.ndarray] = []
        self.recognizer = None
        self._decisions: dict[int, tuple[bool, int]] = {}  # track -> (keep?, frame decided)
        self._frame = 0
        if keep:
            from .identity import Recognizer
            from .media import read_image

            self.recognizer = Recognizer()
            for path in keep:
                image = read_image(path)
                boxes = self.recognizer.detect(image)
                if not boxes:
                    raise FacepaintError(f"{path}: no face found in the --keep reference photo")
                largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
                self.references.append(self.recognizer.descriptor(image, largest))

    def forget(self, track_id: int) -> None:
        self._decisions.pop(track_id, None)

    def kept(self, image: np.ndarray, faces: list[Face]) -> set[int]:
        """Track ids to leave untouched in this frame."""
        self._frame += 1
        keep: set[int] = set()
        if self.which == "largest" and faces:
            largest = max(faces, key=lambda f: f.size)
            keep |= {f.track_id for f in faces if f is not largest}
        if self.references:
            for face in faces:
                if face.track_id in keep:
                    continue
                decided = self._decisions.get(face.track_id)
                if face.detected and (decided is None or self._frame - decided[1] >= self.recheck):
                    descriptor = self.recognizer.descriptor(image, face.box)
                    distance = min(float(np.linalg.norm(descriptor - r)) for r in self.references)
                    decided = (distance < self.threshold, self._frame)
                    self._decisions[face.track_id] = decided
                if decided is not None and decided[0] and face.detected:
                    keep.add(face.track_id)
        return keep
