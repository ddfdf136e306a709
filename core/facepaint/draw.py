"""Draw what the face stack sees: boxes, track ids, the landmark mesh, pose and top blendshapes."""

from __future__ import annotations

import numpy as np

from .types import Face

# Outline loops of the 478-point mesh (MediaPipe indices): face oval, eyes, brows, lips, irises.
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109, 10]
LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61]
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466, 263]
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246, 33]
LEFT_BROW = [276, 283, 282, 295, 285, 300, 293, 334, 296, 336]
RIGHT_BROW = [46, 53, 52, 65, 55, 70, 63, 105, 66, 107]
OUTLINES = [FACE_OVAL, LIPS_OUTER, LIPS_INNER, LEFT_EYE, RIGHT_EYE, LEFT_BROW, RIGHT_BROW]
IRISES = [468, 473]

DETECTED = (40, 220, 90)
PREDICTED = (255, 170, 0)


def draw_faces(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    """A copy of ``image`` with every face annotated (green: seen this frame, orange: predicted)."""
    import cv2

    out = np.ascontiguousarray(image.copy())
    scale = max(1, round(max(out.shape[:2]) / 640))
    for face in faces:
        colour = DETECTED if face.detected else PREDICTED
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, scale, cv2.LINE_AA)
        if face.landmarks is not None:
            pts = face.landmarks[:, :2]
            for p in pts[::3]:
                cv2.circle(out, (int(p[0]), int(p[1])), 0, (200, 200, 200), -1)
            for loop in OUTLINES:
                cv2.polylines(out, [pts[loop].astype(np.int32)], False, (255, 255, 255), scale, cv2.LINE_AA)
            for i in IRISES:
                cv2.circle(out, (int(pts[i, 0]), int(pts[i, 1])), max(1, scale), (0, 160, 255), -1, cv2.LINE_AA)
        label = f"#{face.track_id} {face.score:.2f}"
        if face.pose is not None:
            label += f" y{face.pose.yaw:+.0f} p{face.pose.pitch:+.0f} r{face.pose.roll:+.0f}"
        cv2.putText(out, label, (x0, max(10, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, colour, scale, cv2.LINE_AA)
        if face.blendshapes:
            top = sorted(face.blendshapes.items(), key=lambda kv: -kv[1])[:3]
            for i, (name, value) in enumerate(top):
                cv2.putText(out, f"{name} {value:.2f}", (x0, y1 + (12 + 12 * i) * scale), cv2.FONT_HERSHEY_SIMPLEX,
                            0.3 * scale, (255, 255, 255), max(1, scale // 2), cv2.LINE_AA)
    return out
