"""MediaPipe's 478 mesh points -> the 68-point iBUG/dlib scheme, for scoring against 68-point labels.

Each dlib point is the mean of one or two mesh vertices on the same anatomical
spot (correspondence as published in PeizhiYan/Mediapipe_2_Dlib_Landmarks, checked
here by eye on the astronaut). The jaw line is only approximate: dlib's jaw
follows the visible contour, the mesh's follows fixed skin points.
"""

import numpy as np

MP_TO_68 = [
    [127], [234], [93], [132, 58], [58, 172], [136], [150], [176], [152], [400], [379], [365], [397, 288],
    [361], [323], [454], [356],                                  # 0-16 jaw
    [70], [63], [105], [66], [107], [336], [296], [334], [293], [300],  # 17-26 brows
    [168, 6], [197, 195], [5], [4], [75], [97], [2], [326], [305],  # 27-35 nose
    [33], [160], [158], [133], [153], [144],                     # 36-41 right eye (image left)
    [362], [385], [387], [263], [373], [380],                    # 42-47 left eye
    [61], [40], [37], [0], [267], [270], [291], [321], [314], [17], [84], [91],  # 48-59 outer lips
    [78], [81], [13], [311], [308], [402], [14], [178],         # 60-67 inner lips
]
assert len(MP_TO_68) == 68


def to_68(landmarks: np.ndarray) -> np.ndarray:
    """(478, >=2) -> (68, 2)."""
    return np.stack([landmarks[idx, :2].mean(axis=0) for idx in MP_TO_68])


def nme(predicted68: np.ndarray, truth68: np.ndarray) -> float:
    """Mean point error over the inter-ocular distance (outer eye corners 36, 45), as in 300-W."""
    iod = np.linalg.norm(truth68[36] - truth68[45])
    return float(np.linalg.norm(predicted68 - truth68, axis=1).mean() / max(iod, 1e-6))
