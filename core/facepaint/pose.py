"""Head pose (yaw, pitch, roll in degrees) from MediaPipe's facial transformation matrix."""

from __future__ import annotations

import math

import numpy as np

from .types import Pose


def pose_from_matrix(matrix: np.ndarray) -> Pose:
    """Euler angles of the rotation part, decomposed as R = Ry(yaw) @ Rx(pitch) @ Rz(roll).

    MediaPipe's face-geometry frame has x to the image's right, y up and z out of
    the screen, so the face's forward axis R @ (0, 0, 1) = (sin yaw cos pitch,
    -sin pitch, ...): positive yaw points the nose to the image's right, positive
    pitch points it down, positive roll turns the head counter-clockwise.
    """
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    # Remove any scale the geometry pipeline left in the matrix.
    r = r / np.linalg.norm(r, axis=0, keepdims=True)
    pitch = math.asin(max(-1.0, min(1.0, -r[1, 2])))
    yaw = math.atan2(r[0, 2], r[2, 2])
    roll = math.atan2(r[1, 0], r[1, 1])
    return Pose(math.degrees(yaw), math.degrees(pitch), math.degrees(roll))
