"""Motion retargeting: a driver's expression and head motion, applied to another face's landmarks.

Both faces are brought into the canonical face mesh's frame (centimetres, frontal) by a 3D
similarity fit (Umeyama) on the upper face, which barely moves with expression. There:

- the driver's expression is the per-landmark offset from its neutral (reference) frame;
- the portrait keeps its own shape and adds that offset, so it smiles with its own face;
- the irises move part of the way (``gaze``) to where the driver's sit in its eyes (in eye widths),
  and flatten as the lids close;
- head motion is the driver's rotation, scale and translation relative to its neutral frame,
  applied around the portrait's own pose (a portrait turned a little keeps that turn).

Landmarks are (478, 3): x, y in pixels, z in pixel units with smaller = nearer (MediaPipe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh import canonical_mesh, similarity_fit
from .pose import pose_from_matrix

# Each eye: its iris centre (the next four points ring the iris), outer and inner corner.
EYES = ((468, 33, 133), (473, 263, 362))
LIDS = ((159, 145), (386, 374))  # each eye's upper and lower lid at the middle, in EYES' order

# Image (x right, y down, z away) -> a right-handed frame like the canonical mesh's (y up, z out).
_FLIP = np.array([1.0, -1.0, -1.0], np.float32)


def eye_opening(points: np.ndarray, eye: int) -> float:
    """How open eye ``eye`` (0, 1: EYES' order) is: its lids' gap at the middle over its width."""
    (upper, lower), (_, outer, inner) = LIDS[eye], EYES[eye]
    width = float(np.linalg.norm(points[outer, :2] - points[inner, :2]))
    return float(np.linalg.norm(points[upper, :2] - points[lower, :2])) / max(width, 1e-6)


def _eye_axes(points: np.ndarray, outer: int, inner: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin (the corners' midpoint), along and across axes, each one eye width long (x, y)."""
    a, b = points[outer, :2], points[inner, :2]
    along = b - a
    return (a + b) / 2, along, np.array([-along[1], along[0]])


def _in_eye(points: np.ndarray, iris: int, outer: int, inner: int) -> np.ndarray:
    """Where the iris centre sits in its eye: (along, across) in eye widths."""
    origin, along, across = _eye_axes(points, outer, inner)
    offset = points[iris, :2] - origin
    width2 = float(along @ along) or 1.0
    return np.array([offset @ along, offset @ across]) / width2


def _from_eye(points: np.ndarray, outer: int, inner: int, where: np.ndarray) -> np.ndarray:
    origin, along, across = _eye_axes(points, outer, inner)
    return origin + where[0] * along + where[1] * across


def stable_points() -> np.ndarray:
    """Mesh vertices above the nose tip (forehead, brows' roots, eyes' corners, nose bridge,
    temples): they move with the head, hardly with the jaw or lips."""
    vertices = canonical_mesh().vertices
    nose_tip_y = vertices[1, 1]
    return np.nonzero(vertices[:, 1] > nose_tip_y + 0.5)[0]


@dataclass
class Pose3:
    scale: float  # image units -> canonical cm
    rotation: np.ndarray  # (3, 3): canonical = scale * R @ image' + t
    translation: np.ndarray  # (3,)
    centre: np.ndarray  # (3,) image' centroid of the stable points
    canonical: np.ndarray  # (478, 3) the landmarks in the canonical frame


def fit_pose(landmarks: np.ndarray, stable: np.ndarray) -> Pose3:
    image = landmarks.astype(np.float64) * _FLIP
    s, r, t = similarity_fit(image[stable], canonical_mesh().vertices[stable].astype(np.float64))
    return Pose3(s, r, t, image[stable].mean(0), (s * (r @ image.T)).T + t)


def _scaled_rotation(rotation: np.ndarray, share: float) -> np.ndarray:
    """The same rotation axis, ``share`` of the angle (Rodrigues)."""
    import cv2

    vector, _ = cv2.Rodrigues(rotation)
    return cv2.Rodrigues(vector * share)[0]


class Retargeter:
    """Landmarks for the portrait that move as the driver moves, relative to the driver's reference.

    ``expression``: gain on the expression offsets; ``motion``: gain on the head's translation
    (rotation and scale always follow); ``gaze``: share of the driver's own gaze the portrait takes
    (1: it looks where the driver looks; 0: its own gaze moved by the driver's eye movements: a
    portrait that already looks to one side, like the Mona Lisa, has no room left to look further,
    so its eyes stuck in the corner and the driver's glances were lost; 0.5, the default, keeps half
    the portrait's own look); ``turn_knee``: beyond this yaw (degrees) a turn that would
    show more of the side the picture never showed follows at ``beyond_knee`` of its angle, and
    never more than ``turn_ceiling`` degrees past the knee (it eases into that). The warp can only
    squeeze the far cheek, so a portrait already turned (the Pearl Earring, 33 degrees) turned on
    with the driver looked crushed and stopped reading as a face; softened without a ceiling, a
    driver turning far away still took her to 43 degrees."""

    def __init__(self, portrait_landmarks: np.ndarray, expression: float = 1.0, motion: float = 1.0,
                 gaze: float = 0.5, turn_knee: float = 35.0, beyond_knee: float = 0.3,
                 turn_ceiling: float = 3.0):
        self.stable = stable_points()
        self.portrait = fit_pose(portrait_landmarks, self.stable)
        self.expression = expression
        self.motion = motion
        self.gaze = gaze
        self.turn_knee = turn_knee
        self.beyond_knee = beyond_knee
        self.turn_ceiling = turn_ceiling
        self.reference: Pose3 | None = None

    def set_reference(self, driver_landmarks: np.ndarray) -> None:
        self.reference = fit_pose(driver_landmarks, self.stable)

    def __call__(self, driver_landmarks: np.ndarray) -> np.ndarray:
        if self.reference is None:
            self.set_reference(driver_landmarks)
        ref, now, p = self.reference, fit_pose(driver_landmarks, self.stable), self.portrait
        target = p.canonical + self.expression * (now.canonical - ref.canonical)
        if len(target) >= 478:  # irises tracked
            if self.gaze > 0:
                target = self._look_as(target, now.canonical)
            target = self._irises_under_lids(target)
        # Head rotation in image space: H = R^T maps canonical -> image'. Portrait: dH * H_p.
        turn = now.rotation.T @ ref.rotation
        head = self._limit_turn(turn, p.rotation.T)
        zoom = (1.0 / p.scale) * (ref.scale / now.scale)
        # The driver's head centre moved by this much, in units of its own face size.
        shift = (now.centre - ref.centre) * (ref.scale / p.scale) * self.motion
        pivot = p.canonical[self.stable].mean(0)
        image = zoom * (head @ (target - pivot).T).T + p.centre + shift
        return (image * _FLIP).astype(np.float32)

    def _look_as(self, target: np.ndarray, driver: np.ndarray) -> np.ndarray:
        """``target`` with each iris moved ``gaze`` of the way to where the driver's sits in its eye
        (along and across the line between the eye's corners, in eye widths; canonical frame)."""
        out = target.copy()
        for iris, outer, inner in EYES:
            wanted = _from_eye(target, outer, inner, _in_eye(driver, iris, outer, inner))
            out[iris:iris + 5, :2] += self.gaze * (wanted - target[iris, :2])
        return out

    def _irises_under_lids(self, target: np.ndarray) -> np.ndarray:
        """``target`` with each iris flattened across its eye as the lids close (by the share of
        the portrait's own opening that is left). The iris's ring reaches past the lids; on a
        closing eye it stayed round and the warp pulled its pixels out below the lid, a dark drip."""
        out = target.copy()
        for (iris, outer, inner), (upper, lower) in zip(EYES, LIDS):
            own = np.linalg.norm(self.portrait.canonical[upper, :2] - self.portrait.canonical[lower, :2])
            now = np.linalg.norm(target[upper, :2] - target[lower, :2])
            share = float(np.clip(now / max(own, 1e-6), 0.0, 1.0))
            if share >= 1.0:
                continue
            across = _eye_axes(target, outer, inner)[2]
            middle = (target[upper, :2] + target[lower, :2]) / 2
            normal = across / max(float(np.linalg.norm(across)), 1e-9)
            offsets = (target[iris:iris + 5, :2] - middle) @ normal
            out[iris:iris + 5, :2] -= (1.0 - share) * offsets[:, None] * normal
        return out

    def _limit_turn(self, turn: np.ndarray, own: np.ndarray) -> np.ndarray:
        """``turn @ own``, with the part of the yaw beyond the knee (away from frontal) softened."""
        head = turn @ own
        # image' has MediaPipe's face-geometry axes (x right, y up, z out): pose.py reads the yaw
        start, end = pose_from_matrix(own).yaw, pose_from_matrix(head).yaw
        if abs(end) <= self.turn_knee or abs(end) <= abs(start):
            return head
        knee = max(self.turn_knee, abs(start))  # a portrait turned further than the knee keeps its own turn
        # Past the knee: slope beyond_knee at first, levelling off at turn_ceiling (tanh).
        ceiling = max(self.turn_ceiling, 1e-6)
        wanted = np.sign(end) * (knee + ceiling * np.tanh((abs(end) - knee) * self.beyond_knee / ceiling))
        share = float(np.clip((wanted - start) / (end - start), 0.0, 1.0)) if end != start else 1.0
        return _scaled_rotation(turn, share) @ own
