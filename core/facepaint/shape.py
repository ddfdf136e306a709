"""Face-shape anonymization: move a face's proportions to the average face, keep its expression.

A recogniser reads identity from geometry as well as skin: eye spacing, nose length and width,
the width of the face. We measure those on landmarks that expressions barely move (eye corners,
nose, temples, forehead), compare them with MediaPipe's canonical (average) face after a
3D similarity alignment, and shift every landmark by a smooth blend of those differences. Lids,
lips and brows ride along with their neighbours, so blinks, smiles and raised brows stay as
they were.
"""

from __future__ import annotations

import numpy as np

from .mesh import canonical_mesh, similarity_fit

# Landmarks that expressions hardly move: eye corners, nose bridge and tip, temples, the top of the
# forehead. Not the cheeks or the nose wings: a smile lifts them, and measuring them as "shape"
# took the smile back out (blendshape correlation of anonymized faces 0.835 -> 0.89 without them).
RIGID = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1,
         10, 109, 338, 67, 297, 54, 284, 21, 251, 162, 389, 127, 356, 234, 454, 93, 323]
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (362, 263)


class ShapeNeutralizer:
    """Per-track: ``neutralize(track_id, landmarks)`` returns landmarks with average proportions."""

    def __init__(self, strength: float = 0.8, smoothing: float = 0.15, reach_cm: float = 2.0):
        mesh = canonical_mesh()
        self.canonical = mesh.vertices.astype(np.float64)
        self.strength = strength
        self.smoothing = smoothing
        # Blend weights from each mesh vertex to the rigid points, by distance on the average face.
        rigid = self.canonical[RIGID]
        dist = np.linalg.norm(self.canonical[:, None, :] - rigid[None], axis=2)
        weights = np.exp(-(dist / reach_cm) ** 2)
        self.weights = weights / np.maximum(weights.sum(1, keepdims=True), 1e-9)  # (468, R)
        self._offsets: dict[int, np.ndarray] = {}

    def forget(self, track_id: int) -> None:
        self._offsets.pop(track_id, None)

    def neutralize(self, track_id: int, landmarks: np.ndarray, own: np.ndarray | None = None) -> np.ndarray:
        """``own``: the synthetic person's own proportions, offsets (cm) of the RIGID points from
        the average face (``random_proportions``): the face is moved to those instead of to the
        average itself, so a person who looks average does not keep their own geometry."""
        # MediaPipe: x right, y down, z away from the camera; the canonical mesh: x right, y up, z
        # towards the camera. Flip y and z so both are right-handed the same way.
        flip = np.array([1.0, -1.0, -1.0])
        points = landmarks[:468].astype(np.float64) * flip
        scale, rotation, shift = similarity_fit(self.canonical[RIGID], points[RIGID])
        in_canonical = ((points - shift) @ rotation) / scale
        offset = self.canonical[RIGID] - in_canonical[RIGID]  # this person's proportions vs average
        previous = self._offsets.get(track_id)
        # Proportions do not change within a track: smooth hard so the warp never shimmers.
        offset = offset if previous is None else previous + self.smoothing * (offset - previous)
        self._offsets[track_id] = offset
        target = offset * self.strength + (0.0 if own is None else own)
        moved = (self.weights @ target) * scale @ rotation.T * flip  # back to image axes
        out = landmarks.astype(np.float32).copy()
        out[:468] += moved.astype(np.float32)
        if len(landmarks) > 468:  # irises move with their eye corners
            for centre, corners in ((468, RIGHT_EYE_CORNERS), (473, LEFT_EYE_CORNERS)):
                out[centre:centre + 5] += moved[list(corners)].mean(0).astype(np.float32)
        return out


OWN_ABOVE_NOSE_TIP_CM = 2.5  # random_proportions moves only RIGID points this far above the nose tip


def random_proportions(rng: np.random.Generator, spread_cm: float) -> np.ndarray:
    """Left-right symmetric random offsets (cm) of the upper face's RIGID points: a synthetic
    person's own eye spacing, brow and forehead width, nose bridge. Each point's offset is
    mirrored onto its partner across the face's midline (points on the midline move only up/down
    and in depth)."""
    rigid = canonical_mesh().vertices[RIGID].astype(np.float64)
    mirrored = rigid * np.array([-1.0, 1.0, 1.0])
    partner = np.linalg.norm(rigid[:, None] - mirrored[None], axis=2).argmin(axis=1)
    raw = rng.normal(0.0, spread_cm, rigid.shape)
    own = (raw + raw[partner] * np.array([-1.0, 1.0, 1.0])) / 2
    # Only the upper face: offsets of the nose's lower half and the cheeks beside it carried into
    # the upper lip and took smiles away (emotion kept 73.4% -> 68.8% on one set of seeds; upper
    # face only: 74.5%).
    own[rigid[:, 1] < canonical_mesh().vertices[1, 1] + OWN_ABOVE_NOSE_TIP_CM] = 0.0
    return own.astype(np.float64)
