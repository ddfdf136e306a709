import numpy as np

from facepaint.detect import box_iou, nms


def test_finds_the_astronaut(detector, astronaut):
    faces = detector(astronaut)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    # Her face sits around x 180-270, y 60-180 in the 512 px photo.
    assert 160 < x0 < 200 and 240 < x1 < 290 and 40 < y0 < 90 and 160 < y1 < 200
    assert faces[0].score > 0.8
    assert faces[0].points.shape == (5, 2)


def test_no_face_in_a_blank_or_noise_frame(detector):
    assert detector(np.zeros((360, 640, 3), np.uint8)) == []
    rng = np.random.default_rng(0)
    assert detector(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)) == []


def test_finds_a_far_face(detector, astronaut):
    import cv2

    # Shrink the photo so her face is ~20 px tall and put it in a large frame.
    small = cv2.resize(astronaut, (80, 80), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[300:380, 400:480] = small
    faces = detector(frame)
    assert len(faces) == 1
    assert 400 < faces[0].box[0] < 440 and 300 < faces[0].box[1] < 330


def test_odd_sizes_and_downscaling(detector, astronaut):
    odd = astronaut[:301, :403]
    assert len(detector(odd)) == 1
    from facepaint.detect import CenterFaceDetector

    big = np.kron(astronaut, np.ones((3, 3, 1), np.uint8))  # 1536 px: scaled down to max_side
    faces = CenterFaceDetector(max_side=640)(big)
    assert len(faces) == 1 and faces[0].box[2] > 700  # boxes come back in full-frame pixels


def test_iou_and_nms():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(box_iou(a, b)[0], [1.0, 50 / 150, 0.0], atol=1e-6)
    keep = nms(b, np.array([0.9, 0.8, 0.7]), 0.3)
    assert keep.tolist() == [0, 2]
