import numpy as np

from facepaint.mesh import canonical_mesh
from facepaint.shape import ShapeNeutralizer


def posed_canonical(yaw_deg=20.0, scale=12.0, shift=(300.0, 200.0, 0.0)):
    """The average face rendered into image axes (x right, y down, z away), turned by ``yaw``."""
    v = canonical_mesh().vertices.astype(np.float64)
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    pts = (v @ rot.T) * scale * np.array([1, -1, -1]) + np.array(shift)
    return np.vstack([pts, np.repeat(pts[[468 - 1]], 10, axis=0)]).astype(np.float32)


def test_the_average_face_is_left_alone_and_others_move_towards_it():
    neutral = ShapeNeutralizer(strength=1.0, smoothing=1.0)
    face = posed_canonical()
    np.testing.assert_allclose(neutral.neutralize(1, face)[:468], face[:468], atol=1e-3)
    # Widen the eyes' spacing by 10%: the neutralizer pulls the corners back.
    wide = face.copy()
    centre = face[:468, 0].mean()
    for i in (33, 133, 362, 263):
        wide[i, 0] = centre + (face[i, 0] - centre) * 1.1
    out = neutral.neutralize(2, wide)
    before = abs(wide[263, 0] - wide[33, 0]) - abs(face[263, 0] - face[33, 0])
    after = abs(out[263, 0] - out[33, 0]) - abs(face[263, 0] - face[33, 0])
    assert abs(after) < 0.5 * abs(before)


def test_expression_survives_the_reshape(astronaut, landmarker, detector):
    fit = landmarker(astronaut, detector(astronaut)[0].box)
    out = ShapeNeutralizer().neutralize(1, fit.landmarks)
    gap = lambda lm: lm[14, 1] - lm[13, 1]  # inner lips: mouth opening
    assert abs(gap(out) - gap(fit.landmarks)) < 1.0
    assert 0.2 < np.abs(out - fit.landmarks)[:, :2].mean() < 5


def test_a_smile_is_not_taken_for_face_shape():
    """Smiles lift the cheeks and nose wings: the reshape must not measure that as proportions and
    pull the mouth corners back down (it took the smile out of anonymized faces)."""
    neutral = ShapeNeutralizer(strength=1.5, smoothing=1.0)
    face = posed_canonical(yaw_deg=0.0)
    smile = face.copy()
    lift = 0.08 * (face[152, 1] - face[10, 1])  # 8% of the face height, upwards
    for i in (61, 291, 116, 345, 123, 352, 205, 425, 98, 327, 64, 294, 48, 278, 2):
        smile[i, 1] -= lift
    out = neutral.neutralize(1, smile)
    for corner in (61, 291):
        assert abs(out[corner, 1] - smile[corner, 1]) < 0.15 * lift


def test_a_synthetic_person_has_its_own_symmetric_proportions():
    """``random_proportions`` gives each synthetic person its own geometry, mirrored left to right;
    the average face moved to it changes shape (an average-looking person does not keep their
    own), the mouth's opening stays."""
    from facepaint.shape import RIGID, random_proportions

    own = random_proportions(np.random.default_rng(3), 0.3)
    rigid = canonical_mesh().vertices[RIGID]
    right, left = RIGID.index(33), RIGID.index(263)  # the outer eye corners, a mirrored pair
    assert own[right, 0] == -own[left, 0] and np.allclose(own[right, 1:], own[left, 1:])
    midline = np.abs(rigid[:, 0]) < 1e-3
    assert np.allclose(own[midline, 0], 0.0)
    assert not np.allclose(own, random_proportions(np.random.default_rng(4), 0.3))

    neutral = ShapeNeutralizer(strength=1.5, smoothing=1.0)
    face = posed_canonical(yaw_deg=0.0)
    np.testing.assert_allclose(neutral.neutralize(1, face)[:468], face[:468], atol=1e-3)
    moved = neutral.neutralize(2, face, own=own)
    assert np.abs(moved - face)[:468, :2].mean() > 0.5
    gap = lambda lm: lm[14, 1] - lm[13, 1]  # noqa: E731
    assert abs(gap(moved) - gap(face)) < 0.2
    below = rigid[:, 1] < canonical_mesh().vertices[1, 1] + 2.5  # the nose's lower half, the cheeks
    assert below.any() and np.all(own[below] == 0.0)
