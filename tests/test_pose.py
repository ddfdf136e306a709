import math

import numpy as np

from facepaint.facestack import FaceStack
from facepaint.pose import pose_from_matrix
from facepaint.types import Frame


def rot(yaw=0.0, pitch=0.0, roll=0.0):
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = ry @ rx @ rz
    return m


def test_euler_round_trip():
    pose = pose_from_matrix(rot(30, -12, 7))
    assert (round(pose.yaw, 3), round(pose.pitch, 3), round(pose.roll, 3)) == (30, -12, 7)
    scaled = rot(-20, 5, 0)
    scaled[:3, :3] *= 1.7  # geometry pipeline scale must not change the angles
    assert abs(pose_from_matrix(scaled).yaw + 20) < 1e-6


def test_roll_sign_on_a_real_face(astronaut):
    import cv2

    def roll(image):
        stack = FaceStack()
        try:
            return stack(Frame(image))[0].pose.roll
        finally:
            stack.close()

    upright = roll(astronaut)
    turned = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((225, 120), 20, 1.0), (512, 512))
    # cv2's positive angle turns the picture counter-clockwise: roll grows by about 20 degrees.
    assert 14 < roll(turned) - upright < 26
