"""Default inputs that come with an installed package, for the demo and the tests.

``sample:astronaut`` is scikit-image's public-domain portrait of Eileen Collins
(NASA); it ships inside the scikit-image wheel, so the demo needs no download
and no ../shared/data.
"""

from __future__ import annotations

import numpy as np

from .errors import FacepaintError

PREFIX = "sample:"
SAMPLES = {"astronaut": "skimage.data.astronaut"}


def is_sample(name: str) -> bool:
    return str(name).startswith(PREFIX)


def load_sample(name: str) -> np.ndarray:
    key = str(name)[len(PREFIX):] if is_sample(name) else str(name)
    if key not in SAMPLES:
        raise FacepaintError(f"unknown sample {name!r} (available: {', '.join(PREFIX + k for k in SAMPLES)})")
    from skimage import data

    return np.ascontiguousarray(getattr(data, key)()[..., :3])
