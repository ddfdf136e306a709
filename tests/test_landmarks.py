import numpy as np

from facepaint.landmarks import Crop


def test_478_landmarks_blendshapes_and_matrix(landmarker, detector, astronaut):
    box = detector(astronaut)[0].box
    fit = landmarker(astronaut, box)
    assert fit is not None
    assert fit.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = box
    inside = ((fit.landmarks[:, 0] > x0 - 15) & (fit.landmarks[:, 0] < x1 + 15)
              & (fit.landmarks[:, 1] > y0 - 15) & (fit.landmarks[:, 1] < y1 + 15))
    assert inside.all()
    assert len(fit.blendshapes) == 52 and all(0 <= v <= 1 for v in fit.blendshapes.values())
    # She smiles in the photo.
    assert fit.blendshapes["mouthSmileLeft"] > 0.4 and fit.blendshapes["mouthSmileRight"] > 0.4
    assert fit.transform.shape == (4, 4)
    # Left eye outer corner (263) is on the image's right of the right eye outer corner (33).
    assert fit.landmarks[263, 0] > fit.landmarks[33, 0]


def test_landmarks_follow_a_mirrored_face(landmarker, detector, astronaut):
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    a = landmarker(astronaut, detector(astronaut)[0].box).landmarks
    b = landmarker(mirrored, detector(mirrored)[0].box).landmarks
    # Nose tip (1) mirrors to 511 - x within a couple of pixels.
    assert abs(a[1, 0] - (511 - b[1, 0])) < 3 and abs(a[1, 1] - b[1, 1]) < 3


def test_no_landmarks_without_a_face(landmarker):
    assert landmarker(np.zeros((200, 200, 3), np.uint8), np.array([50, 50, 150, 150], np.float32)) is None


def test_crop_round_trip():
    crop = Crop.around(np.array([100, 50, 140, 110], np.float32), scale=2.0, size=256)
    assert crop.side == 120
    pts = crop.to_frame(np.array([[0.5, 0.5, 0.1]], np.float32))
    np.testing.assert_allclose(pts[0], [120, 80, 12], atol=1e-4)
    image = np.zeros((200, 300, 3), np.uint8)
    image[80, 120] = 255
    cut = crop.cut(image)
    assert cut.shape == (256, 256, 3)
    y, x = np.unravel_index(cut[..., 0].argmax(), cut.shape[:2])
    assert abs(x - 128) <= 3 and abs(y - 128) <= 3
