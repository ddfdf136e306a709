"""A portrait's irises as rigid discs that turn in the eye, for animating a picture.

The warp alone moved an iris by stretching the white on one side of it and squeezing it on the
other: the iris smeared into the white it left (a grey streak beside it), and MediaPipe read an
iris moved 0.15 eye widths as moved 0.05, even on a photo. A real eye turns: the iris slides over
the white, whole, and the lids cut it off. So, once per portrait (``IrisSprites``):

- each iris (the ellipse of its landmarks' ring, a little wider to take the dark limbus) is cut
  out of the picture; where the lids covered part of it, the part mirrored across its middle (or
  its mean colour) stands in;
- the picture's eyes are cleaned: inside each opening, the iris's pixels are filled with a smooth
  mean of the white around it (its brightest quarter: the lashes would bleed in), and where the
  iris crosses the opening's outline, with the outline on either side of it.

Per frame (``IrisSprites.draw``), after the warp of the cleaned picture: each iris is pasted at
its moved centre, turned with its eye's corners, scaled along the eye as the eye's width changes
and across it as the face's size does, kept inside the eye's corners, and clipped by the moved
opening. ``LidShade`` then darkens a shutting eye's slit to a lash line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .draw import LEFT_EYE, RIGHT_EYE
from .features import LUMA, opening_mask, polygon_mask
from .mesh import similarity_fit
from .retarget import EYES as IRIS_AND_CORNERS, LIDS, eye_opening, stable_points

# (opening contour, iris centre, iris ring: the next four points, outer corner, inner corner)
EYES = tuple((contour, centre, tuple(range(centre + 1, centre + 5)), outer, inner)
             for contour, (centre, outer, inner) in zip((RIGHT_EYE, LEFT_EYE), IRIS_AND_CORNERS))
LIMBUS = 1.15  # the iris cut out, x its landmarks' ring: the ring sits inside the dark limbus
# An iris's centre stays this many of its radii inside its eye's corners. A portrait that already
# looks to one side (the Pearl Earring), driven by a glance the same way, slid its iris past the
# corner: a blank white eye. A real eye turned all the way shows the iris at the corner, its edge
# a little under it. (1.0 read the same; the Pearl's gaze figures were 0.01-0.03 lower.)
CORNER_MARGIN = 0.8


@dataclass
class _Sprite:
    contour: list[int]
    centre: int
    corners: tuple[int, int]
    span: np.ndarray  # (2,) outer -> inner corner in the portrait (px)
    patch: np.ndarray  # (2R+1, 2R+1, 3) float32, the iris's colours, centred on its centre
    alpha: np.ndarray  # (2R+1, 2R+1) float32, soft ellipse
    radius: float  # the iris's radius along the eye in the portrait (its landmarks' ring, px)


class _Ellipse(NamedTuple):
    """An iris as the picture shows it: a turned eye's is narrower along the eye than across."""
    centre: np.ndarray  # (2,) x, y
    axis: np.ndarray  # (2,) unit vector along the ring's first and third points
    along: float  # radii
    across: float

    def grown(self, factor: float, extra: float = 0.0) -> "_Ellipse":
        return _Ellipse(self.centre, self.axis, self.along * factor + extra, self.across * factor + extra)

    def shifted(self, offset: np.ndarray) -> "_Ellipse":
        return _Ellipse(self.centre - offset, self.axis, self.along, self.across)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Soft (about a pixel's ramp at the edge)."""
        ys, xs = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
        dx, dy = xs - self.centre[0], ys - self.centre[1]
        u = dx * self.axis[0] + dy * self.axis[1]
        v = -dx * self.axis[1] + dy * self.axis[0]
        radius = np.hypot(u / max(self.along, 1e-3), v / max(self.across, 1e-3))
        return np.clip(0.5 - (radius - 1.0) * min(self.along, self.across), 0.0, 1.0)


def _iris_ellipse(points: np.ndarray, centre: int, ring: tuple[int, ...]) -> _Ellipse:
    """The ring's four points: two along the eye (first, third), two across it."""
    along = points[ring[0]] - points[ring[2]]
    across = points[ring[1]] - points[ring[3]]
    length = float(np.linalg.norm(along))
    axis = along / length if length > 1e-6 else np.array([1.0, 0.0], np.float32)
    return _Ellipse(points[centre].astype(np.float32), axis.astype(np.float32), length / 2,
                    float(np.linalg.norm(across)) / 2)


def _fill_from(patch: np.ndarray, hole: np.ndarray, known: np.ndarray, reach: float, brighter: bool) -> None:
    """In place: ``hole`` filled with a smooth mean of the ``known`` pixels around it (normalised
    convolution, ``reach`` px); ``brighter``: of their brightest quarter only. Around an eye's
    opening that is its white and the white's shading without lashes or lids (taken in row by row,
    they drew grey streaks across the white; the median half of a turned eye, whose white MediaPipe's
    contour leaves partly outside, was grey)."""
    import cv2

    luma = patch @ LUMA
    if not known.any():
        return
    weight = (known & (luma >= np.percentile(luma[known], 75)) if brighter else known).astype(np.float32)
    blurred = cv2.GaussianBlur(patch * weight[..., None], (0, 0), reach)
    norm = cv2.GaussianBlur(weight, (0, 0), reach)[..., None]
    mean = patch[weight > 0].mean(0)
    fill = np.where(norm > 1e-3, blurred / np.maximum(norm, 1e-3), mean)
    patch[hole] = fill[hole]


def _inside_corners(centre: np.ndarray, outer: np.ndarray, span: np.ndarray, margin: float) -> np.ndarray:
    """``centre`` moved along the eye (``outer`` corner + ``span`` reaches the inner one) so it lies
    at least ``margin`` inside both corners (an eye narrower than two margins: at its middle)."""
    length = float(np.linalg.norm(span))
    if length < 1e-6:
        return centre
    axis = span / length
    t = float((centre - outer) @ axis)
    wanted = length / 2 if length <= 2 * margin else float(np.clip(t, margin, length - margin))
    return centre + (wanted - t) * axis


class IrisSprites:
    """Built once from a portrait (RGB uint8) and its landmarks (478, with irises)."""

    def __init__(self, picture: np.ndarray, landmarks: np.ndarray):
        import cv2

        self.clean = picture.copy()  # the picture with its irises lifted out of the eyes
        self.sprites: list[_Sprite] = []
        if len(landmarks) < 478:
            return
        points = landmarks[:, :2].astype(np.float32)
        self._stable = stable_points()
        self._stable_points = points[self._stable].astype(np.float64)
        for contour, centre, ring, outer, inner in EYES:
            iris = _iris_ellipse(points, centre, ring).grown(LIMBUS)
            if min(iris.along, iris.across) < 1.0:
                continue
            reach = int(np.ceil(max(iris.along, iris.across))) + 2
            cx, cy = points[centre]
            size = 2 * reach + 1
            # The iris's colours, from the picture (border-replicated where it runs off the picture).
            patch = cv2.getRectSubPix(picture, (size, size), (float(cx), float(cy))).astype(np.float32)
            corner = np.array([cx - reach, cy - reach], np.float32)
            local = points - corner
            alpha = iris.shifted(corner).mask((size, size))
            seen = polygon_mask(local[contour], (size, size)) > 0.5
            inside = alpha > 0
            if not (seen & inside).any():
                continue  # an eye closed in the picture: no iris to move
            # Under the lids: the visible part mirrored across its middle row, else its mean.
            mirror_y = np.clip(np.round(2 * local[centre, 1] - np.arange(size)).astype(int), 0, size - 1)
            mirrored, mirrored_seen = patch[mirror_y], seen[mirror_y]
            hidden = inside & ~seen
            use_mirror = hidden & mirrored_seen
            patch[use_mirror] = mirrored[use_mirror]
            mean = patch[inside & seen].mean(0)
            patch[hidden & ~mirrored_seen] = mean
            self.sprites.append(_Sprite(contour, centre, (outer, inner), points[inner] - points[outer], patch, alpha,
                                        iris.along / LIMBUS))
            self._lift(points, contour, iris)

    def _lift(self, points: np.ndarray, contour: list[int], iris: _Ellipse) -> None:
        """Fill the iris inside its opening with the white around it."""
        import cv2

        found = opening_mask(points, contour, self.clean.shape[:2], min_area=0.0)
        if found is None:
            return
        ys, xs, _, shape, opening = found
        disc = iris.grown(1.0, 1.0).shifted(np.array([xs.start, ys.start], np.float32)).mask(shape)
        patch = self.clean[ys, xs].astype(np.float32)
        kernel = np.ones((3, 3), np.uint8)
        # Inside the opening (a pixel in from its outline, softly): the white.
        inner = cv2.GaussianBlur(cv2.erode(opening, kernel), (0, 0), 0.7)
        # Along the outline, where the iris crosses it: the outline from either side. Left as it
        # was, the iris's edge stayed on the lids as dark specks when it moved away; filled with the
        # white, the white ran over the lids where MediaPipe's contour lies past it (the Pearl Earring).
        band = np.clip(cv2.dilate(opening, kernel) - inner, 0.0, 1.0)
        reach = max(1.0, min(iris.along, iris.across) / 2)
        around = cv2.dilate(opening, np.ones((5, 5), np.uint8)) > 0.99
        for part, known, brighter in ((band, band > 0.99, False), (inner, around, True)):
            hole = disc * part
            fill = patch.copy()
            _fill_from(fill, hole > 0, known & (disc < 0.01), reach, brighter)
            patch += hole[..., None] * (fill - patch)
        self.clean[ys, xs] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)

    def draw(self, out: np.ndarray, landmarks: np.ndarray) -> None:
        """In place: each iris at ``landmarks``' iris centre, turned with its eye, scaled along it
        as the eye's width changes (a turn narrows the far eye and its iris) and across it as the
        face's size does, inside the opening that ``landmarks``' lids leave."""
        import cv2

        if not self.sprites:
            return
        points = landmarks[:, :2].astype(np.float32)
        across = similarity_fit(self._stable_points, points[self._stable].astype(np.float64))[0]
        for s in self.sprites:
            span = points[s.corners[1]] - points[s.corners[0]]  # the eye, corner to corner
            along = float(np.linalg.norm(span) / max(np.linalg.norm(s.span), 1e-6))
            # Closed (less than 15% of the iris's area open): the lids' antialiased sliver would
            # show a dark line of iris.
            found = opening_mask(points, s.contour, out.shape[:2], 0.15 * float(s.alpha.sum()) * along * across)
            if found is None:
                continue
            ys, xs, local, shape, opening = found
            opening = cv2.GaussianBlur(opening, (0, 0), 0.6)
            e_p = s.span / max(float(np.linalg.norm(s.span)), 1e-6)
            e_t = span / max(float(np.linalg.norm(span)), 1e-6)
            n_p, n_t = np.array([-e_p[1], e_p[0]]), np.array([-e_t[1], e_t[0]])
            linear = along * np.outer(e_t, e_p) + across * np.outer(n_t, n_p)
            half = (s.patch.shape[0] - 1) / 2
            target = _inside_corners(local[s.centre], local[s.corners[0]], span, CORNER_MARGIN * s.radius * along)
            # patch (u, v) -> window (x, y): target + linear @ ((u, v) - half)
            matrix = np.hstack([linear, (target - linear @ np.array([half, half]))[:, None]]).astype(np.float32)
            size = (shape[1], shape[0])
            colours = cv2.warpAffine(s.patch, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            alpha = cv2.warpAffine(s.alpha, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)
            alpha = (alpha * opening)[..., None]
            region = out[ys, xs].astype(np.float32)
            out[ys, xs] = np.clip(region + alpha * (colours - region) + 0.5, 0, 255).astype(np.uint8)


SHADE_FROM = 0.5  # an eye open less than this share of the portrait's own opening darkens ...
SHADE_MOST = 0.6  # ... to this share of the way to its lashes' colour, shut
LASH_LEVEL = 0.45  # the lash line at most this bright, of the lid skin's light
LASH_REACH = 0.2  # the shade reaches past the outline by this share of the eye's own height


class LidShade:
    """A closing eye's slit darkens to the colour of its lashes, as a real one does: the upper lid's
    lashes and their shadow fill it. The warp shows the lower sliver of the picture's opening, and
    on a portrait looking up or aside that is its white: a shut eye read as a bright slit, open and
    looking down (the Pearl Earring: lids at a tenth of their opening, MediaPipe read six tenths)."""

    def __init__(self, picture: np.ndarray, landmarks: np.ndarray):
        self.own: list[float] = []
        self.lashes: list[np.ndarray] = []
        if len(landmarks) < 478:
            return
        points = landmarks[:, :2].astype(np.float32)
        image = picture.astype(np.float32)
        for eye, (contour, *_) in enumerate(EYES):
            upper = points[contour[8:]]  # inner corner, along the upper lid, to the outer corner
            steps = np.linspace(0, 1, 8)[1:-1, None]
            samples = np.concatenate([a + steps * (b - a) for a, b in zip(upper[:-1], upper[1:])])
            colours = _sample(image, samples)
            luma = colours @ LUMA
            dark = colours[luma <= np.percentile(luma, 33)].mean(0)
            # A painting's lid often shows no lashes (the Pearl Earring's are pink skin): at most
            # LASH_LEVEL of the lid skin's light (half the eye's height above the lid).
            upper_lid, lower_lid = LIDS[eye]
            up = points[upper_lid] - points[lower_lid]  # lower to upper lid, at the middle
            skin = _sample(image, samples + 0.5 * up) @ LUMA
            dark *= min(1.0, LASH_LEVEL * float(np.median(skin)) / max(float(dark @ LUMA), 1.0))
            self.own.append(eye_opening(points, eye))
            self.lashes.append(dark)

    def draw(self, out: np.ndarray, landmarks: np.ndarray) -> None:
        """In place: each eye of ``landmarks`` darkened by how far it has closed."""
        import cv2

        points = landmarks[:, :2].astype(np.float32)
        for eye, (contour, _, _, outer, inner) in enumerate(EYES[:len(self.own)]):
            share = eye_opening(points, eye) / max(self.own[eye], 1e-6)
            amount = SHADE_MOST * float(np.clip((SHADE_FROM - share) / SHADE_FROM, 0.0, 1.0))
            if amount <= 0:
                continue
            # Past the outline by a fifth of the eye's own height, softly: MediaPipe's outline
            # often lies inside a painted eye, and the white it leaves out stayed under a shut lid.
            width = float(np.linalg.norm(points[outer] - points[inner]))
            reach = max(1, int(round(LASH_REACH * self.own[eye] * width)))
            found = opening_mask(points, contour, out.shape[:2], min_area=0.0, pad=reach + 3)
            if found is None:
                continue
            ys, xs, _, _, opening = found
            mask = cv2.dilate(opening, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
            mask = cv2.GaussianBlur(mask, (0, 0), 0.7)
            region = out[ys, xs].astype(np.float32)
            region += (amount * mask)[..., None] * (self.lashes[eye] - region)
            out[ys, xs] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 3) colours of ``image`` at ``points`` (N, 2: x, y), bilinear, edges replicated."""
    import cv2

    where = points.astype(np.float32).reshape(1, -1, 2)
    return cv2.remap(image, where[..., 0], where[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
