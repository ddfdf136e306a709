"""Irreversible hiding for faces a mode cannot redraw well (the fail-closed fallback).

Privacy first: whatever a mode does, a face it did not treat leaves through one of these. The
default is a mosaic with per-block noise: blocks of ~1/6 of the face hold too little to recognise
anyone, and the noise defeats the de-pixelation attacks that invert a plain mosaic.
"""

from __future__ import annotations

import numpy as np

from .types import Face

FALLBACKS = ("mosaic", "blur", "solid")


def hide_region(face: Face, frame_shape: tuple[int, int], grow: float = 1.3) -> tuple[slice, slice] | None:
    """The box to hide: the face box grown to cover forehead, hair line and chin."""
    x0, y0, x1, y1 = face.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0) * grow / 2
    h, w = frame_shape
    ys = slice(int(max(0, cy - half * 1.1)), int(min(h, np.ceil(cy + half))))
    xs = slice(int(max(0, cx - half)), int(min(w, np.ceil(cx + half))))
    if ys.stop - ys.start < 1 or xs.stop - xs.start < 1:
        return None
    return ys, xs


def hide_face(image: np.ndarray, face: Face, method: str = "mosaic", rng: np.random.Generator | None = None) -> None:
    """Hide ``face`` in ``image`` in place."""
    import cv2

    region = hide_region(face, image.shape[:2])
    if region is None:
        return
    patch = image[region]
    h, w = patch.shape[:2]
    rng = rng or np.random.default_rng()
    if method == "solid":
        patch[:] = patch.reshape(-1, 3).mean(0).astype(np.uint8)
    elif method == "blur":
        sigma = max(h, w) / 5
        blurred = cv2.GaussianBlur(patch, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE).astype(np.int16)
        noise = rng.integers(-12, 13, size=blurred.shape, dtype=np.int16)
        patch[:] = np.clip(blurred + noise, 0, 255).astype(np.uint8)
    elif method == "mosaic":
        blocks = 6
        by, bx = max(1, min(blocks, h)), max(1, min(blocks, w))
        small = cv2.resize(patch, (bx, by), interpolation=cv2.INTER_AREA).astype(np.int16)
        small += rng.integers(-24, 25, size=small.shape, dtype=np.int16)
        patch[:] = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    else:
        raise ValueError(f"unknown fallback {method!r} (choose from {', '.join(FALLBACKS)})")
