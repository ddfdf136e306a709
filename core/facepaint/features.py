"""Face parts drawn from landmarks alone: openings (eyes, mouth) as soft masks, and a mouth interior.

Shared by the modes that redraw faces: anonymize (a synthetic person's mouth) and animate (a
portrait's mouth opening wider than it ever did in the picture).
"""

from __future__ import annotations

import numpy as np

from .draw import LIPS_INNER

# The inner lip contour's two halves, corner (78) to corner (308): upper lip, then lower lip.
UPPER_INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER_LIP = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
ENAMEL = np.array([228, 222, 210], np.float32)  # RGB of teeth at a light level of 1: a natural ivory
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # RGB -> grey (Rec. 601, as OpenCV's)
# Teeth show in full from this much smile or raised upper lip (blendshapes) on; below it the lips
# hang over them. Full teeth in every open mouth turned a surprised face's dark mouth into a white
# bar (the emotion model read several as angry). Emotion kept over all stills stayed 73.4%: kept
# because such mouths now look like the originals'.
BARED_FROM = 0.25
# Relaxed lips (not bared) hide the teeth from this opening height / width on, fully HIDDEN_OVER later.
# Surprised faces' mouths had a rim of teeth all round (a snarl, read as angry); as dark holes, three
# of the stills' surprised faces were read as afraid or surprised instead, none worse (emotion kept
# 74.0% / 77.1% -> 74.5% / 77.1% over both seed sets; from 0.3 instead of 0.5: two faces worse).
HIDDEN_FROM, HIDDEN_OVER = 0.5, 0.2


def window(points: np.ndarray, indices: list[int], shape: tuple[int, int],
            pad: float) -> tuple[slice, slice, np.ndarray] | None:
    """The pixel window around ``points[indices]`` (+pad), and all points in its coordinates."""
    h, w = shape
    part = points[indices]
    x0 = int(max(0, np.floor(part[:, 0].min() - pad)))
    y0 = int(max(0, np.floor(part[:, 1].min() - pad)))
    x1 = int(min(w, np.ceil(part[:, 0].max() + pad) + 1))
    y1 = int(min(h, np.ceil(part[:, 1].max() + pad) + 1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return slice(y0, y1), slice(x0, x1), points - np.array([x0, y0], np.float32)


def opening_mask(points: np.ndarray, contour: list[int], shape: tuple[int, int], min_area: float,
                 pad: float = 2):
    """Window (``pad`` px around the opening) and soft mask of an eye or mouth opening; None when
    it is closed (area < min_area)."""
    win = window(points, contour, shape, pad=pad)
    if win is None:
        return None
    ys, xs, local = win
    sub = (ys.stop - ys.start, xs.stop - xs.start)
    mask = polygon_mask(local[contour], sub)
    if mask.sum() < min_area:
        return None
    return ys, xs, local, sub, mask


def polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 4).astype(np.int32)], 1, lineType=cv2.LINE_AA, shift=2)
    return mask.astype(np.float32)


def draw_lip_line(drawn: np.ndarray, points: np.ndarray, shape: tuple[int, int], darkness: float = 0.5,
                  corners: float = 0.4, reach: float = 0.06) -> None:
    """The dark line where the lips meet, with the shaded pits at the mouth's corners, following
    the landmarks (``drawn`` in place). A closed mouth on a smooth synthetic skin had almost no line,
    and that line's curve, up or down at the corners, is much of how a face reads as smiling or
    sad. ``darkness``: of the line (share of the light taken away); ``corners``: of the pits
    (at most ``darkness``); ``reach``: how far the line runs on past each corner (x mouth width)."""
    line = (points[UPPER_INNER_LIP] + points[LOWER_INNER_LIP]) / 2
    width = float(np.linalg.norm(points[308, :2] - points[78, :2]))
    if width < 4 or darkness <= 0:
        return
    ends = []
    for end, before in ((line[0], line[1]), (line[-1], line[-2])):
        direction = end[:2] - before[:2]
        ends.append(end[:2] + direction / max(float(np.linalg.norm(direction)), 1e-3) * reach * width)
    line = np.vstack([ends[0], line[:, :2], ends[1]])
    win = window(line, list(range(len(line))), shape, pad=4)
    if win is None:
        return
    ys, xs, local = win
    pits = [(corner, max(4, int(width / 14 * 4)), corners / darkness) for corner in (local[1], local[-2])]
    stroke = soft_stroke((ys.stop - ys.start, xs.stop - xs.start), local, max(1, round(width / 45)),
                         max(0.6, width / 70), dots=pits)
    drawn[ys, xs] *= (1 - darkness * stroke)[..., None]


def soft_stroke(shape: tuple[int, int], line: np.ndarray, thickness: int, blur: float, dots=()) -> np.ndarray:
    """A soft line mask (0-1) of ``shape`` along ``line`` (window pixels, x y), ``thickness`` px wide
    and blurred by ``blur``; ``dots``: (centre, radius in quarter pixels, value) discs drawn on it
    first. Darken a picture by it for a crease, a lash line, the line where the lips meet."""
    import cv2

    stroke = np.zeros(shape, np.float32)
    cv2.polylines(stroke, [np.round(line * 4).astype(np.int32)], False, 1.0, thickness, cv2.LINE_AA, shift=2)
    for centre, radius, value in dots:
        cv2.circle(stroke, tuple(int(v) for v in np.round(centre * 4)), radius, value, -1, cv2.LINE_AA, shift=2)
    return np.clip(cv2.GaussianBlur(stroke, (0, 0), blur), 0, 1)


def bared_teeth(blendshapes: dict | None) -> float:
    """How far the lips draw back off the teeth, 0-1 (``draw_mouth_interior``'s ``bared``): a smile
    or a raised upper lip bares them, a dropped jaw alone does not. No blendshapes: 1."""
    if not blendshapes:
        return 1.0

    def both(name):
        return (blendshapes.get(name + "Left", 0.0) + blendshapes.get(name + "Right", 0.0)) / 2
    return float(np.clip(max(both("mouthSmile"), both("mouthUpperUp")) / BARED_FROM, 0.0, 1.0))


def draw_mouth_interior(drawn: np.ndarray, points: np.ndarray, light_level: float, shape: tuple[int, int],
                        enamel: np.ndarray | None = None, corner_shade: float = 0.0, bared: float = 1.0,
                        even_slit: bool = True) -> None:
    """An open mouth: upper teeth hanging from the upper lip's curve, dark interior, lower teeth.

    ``enamel``: the teeth's colour before ``light_level`` (default: a natural ivory); ``corner_shade``:
    how much darker the teeth get toward the mouth's corners, where the cheeks shade them;
    ``bared``: 1 where the lips draw back off the teeth (a smile, a snarl), 0 where they hang
    relaxed over them (a jaw dropped in surprise, speech): then only the teeth's edges show and
    the mouth is mostly dark (dimmer teeth there too made a talking face's look change more from
    frame to frame: identity spread on d12 0.38 -> 0.40), and none at all once the jaw drops to an
    opening half as tall as wide or more (HIDDEN_FROM). ``even_slit``: teeth spread evenly along
    lips barely apart (see below)."""
    import cv2

    opening = opening_mask(points, LIPS_INNER, shape, min_area=3)
    if opening is None:
        return  # closed
    ys, xs, local, sub, mouth = opening
    inside = mouth > 0.5
    # Per column: where the opening starts and ends, so the teeth follow a smile's curve.
    rows = np.arange(sub[0], dtype=np.float32)[:, None]
    has = inside.any(axis=0)
    top = np.where(has, inside.argmax(axis=0), 0).astype(np.float32)
    bottom = np.where(has, sub[0] - 1 - inside[::-1].argmax(axis=0), 0).astype(np.float32)
    opening = np.maximum(bottom - top, 1.0)
    width = float(np.ptp(local[LIPS_INNER][:, 0]))
    # A jaw dropped wide (surprise, a yawn) with the lips relaxed: they cover the teeth, the mouth
    # is a dark hole. The rim of teeth left there read as a snarl (the emotion model: angry).
    tall = float(opening.max()) / max(width, 1.0)
    hidden = float(np.clip((tall - HIDDEN_FROM) / HIDDEN_OVER, 0.0, 1.0)) * (1.0 - bared)
    upper = np.minimum(0.85 * opening, (0.07 + 0.19 * bared) * width + 1.0) * (1.0 - hidden)
    lower = np.minimum(0.15 * opening, (0.03 + 0.04 * bared) * width) * (1.0 - hidden)
    depth = np.clip((rows - top) / opening, 0, 1)[..., None]
    layer = np.array([70, 25, 28], np.float32) * (1 - 0.5 * depth) * light_level
    teeth = np.clip((top + upper - rows) / 1.2, 0, 1) + np.clip((rows - (bottom - lower)) / 1.2, 0, 1)
    # Faint gaps between teeth, widest apart at the centre, and a little shade at the gum line.
    centre_x = float(local[LIPS_INNER][:, 0].mean())
    tooth = max(width / 9.0, 2.0)
    columns = np.arange(sub[1], dtype=np.float32)[None, :]
    gaps = 1 - 0.1 * np.clip(1 - np.abs(((columns - centre_x) / tooth) % 1.0 - 0.5) * 8, 0, 1)
    gum = 1 - 0.15 * np.clip(1 - (rows - top) / np.maximum(0.25 * opening, 1), 0, 1)
    enamel = (ENAMEL if enamel is None else np.asarray(enamel, np.float32)) * light_level
    shade = gaps * gum
    if corner_shade > 0:
        half = max(width / 2.0, 1.0)
        shade = shade * (1 - corner_shade * np.clip(np.abs(columns - centre_x) / half, 0, 1) ** 2)
    teeth_colour = enamel * shade[..., None]
    teeth = np.clip(teeth, 0, 1) * (1.0 - hidden)  # none in the opening's soft edge either
    # Lips barely apart (the inner lips' outline a broken line of pixels at a small size): where the
    # slit steps from one row to two, the upper teeth filled one row and the other stayed dark, a
    # grey slit spotted with dark. There each column's share of teeth is evened out along the slit.
    thin = has & (bottom - top < 1.5)
    if even_slit and thin.any():
        rows_in = np.maximum(inside.sum(axis=0), 1)
        share = (teeth * inside).sum(axis=0) / rows_in
        weight = thin.astype(np.float32)[None]
        even = (cv2.GaussianBlur((share * weight), (0, 0), sigmaX=1.5, sigmaY=0.1)
                / np.maximum(cv2.GaussianBlur(weight, (0, 0), sigmaX=1.5, sigmaY=0.1), 1e-6))[0]
        teeth = np.where(inside & thin[None], even[None], teeth)
    teeth = teeth[..., None]
    layer = layer * (1 - teeth) + teeth_colour * teeth
    soft = cv2.GaussianBlur(mouth, (0, 0), 0.7)[..., None]
    target = drawn[ys, xs]
    target += soft * (layer - target)
