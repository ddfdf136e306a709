"""Piecewise-affine image warping driven by landmarks, for animating a picture.

Control points: the face's 478 landmarks, two rings around its outline (the hull of its mesh
points as the picture shows them; the near ring moves with the head, the far one half as much:
hair, ears, neck and background follow smoothly) and fixed points on the picture's border.
Triangles: inside the face, the canonical face mesh's own (a real surface, so a turned head folds
the way a head does and depth order resolves it), with each eye opening re-triangulated around its
iris points so the gaze moves the iris, and covered by its lid as it closes (``_opening_sources``);
outside, a Delaunay triangulation of outline, rings and border. Each output pixel is found in a
moved triangle and fetched from the same place in the source triangle; triangles turned away from
the viewer (in the picture or in the moved face) are left out.
The map is computed at the picture's full size by default and applied with one ``cv2.remap``. At
half size (bilinear upsampling of a piecewise-linear map is exact inside triangles) the map blurred
across a turned face's far silhouette, where the face and the band behind it fetch from different
places: the Pearl Earring's far cheek got a staircase of 2-pixel blocks of misplaced colour.
Around the eyes each pixel averages 3x3 fetches (a closing eye is a sliver of triangles), and
elsewhere pixels whose neighbours fetch from far apart (a silhouette, a fold) are softened.
"""

from __future__ import annotations

import numpy as np

from .draw import LEFT_EYE, RIGHT_EYE
from .mesh import similarity_fit
from .render import affine_per_pixel, rasterize, triangle_affine
from .retarget import eye_opening

RINGS = ((1.35, 1.0), (2.0, 0.5))  # (radius in face-outline units, share of the head's motion)
SUPERSAMPLE = 3  # samples per pixel, across and down, around the eyes (LandmarkWarp._supersampled)
# Each eye's opening contour (corner, lower lid, other corner, upper lid) and iris ring + centre.
EYE_OPENINGS = ((RIGHT_EYE, list(range(469, 473)) + [468]), (LEFT_EYE, list(range(474, 478)) + [473]))


def _signed_area(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice each triangle's area, positive or negative with the order of its corners (x, y)."""
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def _polygon_test(polygon: np.ndarray):
    """A function telling whether a point lies strictly inside ``polygon``."""
    import cv2

    contour = polygon.astype(np.float32).reshape(-1, 1, 2)
    return lambda point: cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) > 0


def _soften_jumps(out: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, sigma: float = 0.8) -> None:
    """Where neighbouring pixels' fetches jump (more than half a pixel beyond the one pixel they
    are apart, forward or back, or a pixel across: a nearer surface's silhouette over a farther one,
    a fold, a squeeze), both take a soft mean of their neighbourhood, in place. Fetched once per
    pixel, such an edge is a staircase (the nose's wing over the upper lip of a turned head, a turned
    cheek's outline); supersampling the whole face would cost several times the warp."""
    import cv2

    edge = np.zeros(map_x.shape, bool)
    for axis, own, other in ((1, map_x, map_y), (0, map_y, map_x)):
        along, across = np.diff(own, axis=axis), np.diff(other, axis=axis)  # ~1 and ~0 unless scaled
        step = (along > 1.5) | (along < -0.5) | (np.abs(across) > 1.0)
        if axis == 1:
            edge[:, 1:] |= step
            edge[:, :-1] |= step
        else:
            edge[1:] |= step
            edge[:-1] |= step
    ys, xs = np.nonzero(edge)
    if not len(ys):
        return
    pad = 3  # the blur's reach
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, out.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, out.shape[1])
    soft = cv2.GaussianBlur(out[y0:y1, x0:x1], (0, 0), sigma)
    inside = edge[y0:y1, x0:x1]
    out[y0:y1, x0:x1][inside] = soft[inside]


class LandmarkWarp:
    def __init__(self, source_landmarks: np.ndarray, shape: tuple[int, int], map_scale: float = 1.0,
                 border_points: int = 6):
        import cv2

        self.shape = shape
        self.map_scale = map_scale
        h, w = shape
        face = source_landmarks[:, :2].astype(np.float32)
        # The face's outline: the hull of its mesh points as the picture shows them. On a turned
        # face the far side's oval landmarks lie inside the cheek's silhouette; anchored there, the
        # band around the face and the cheek both fetched the silhouette's edge, and a turn drew it
        # twice, as a dark seam down the cheek (the Pearl Earring).
        self._outline = cv2.convexHull(face[:468].reshape(-1, 1, 2), returnPoints=False).ravel().astype(np.int64)
        outline = face[self._outline]
        centre = outline.mean(0)
        self._offsets = [(f - 1.0) * (outline - centre) for f, _ in RINGS]  # ring point - its outline point
        self._rings = [outline + offset for offset in self._offsets]
        edge = np.linspace(0, 1, border_points + 1, dtype=np.float32)[:-1]
        border = np.concatenate([np.stack([edge * (w - 1), np.zeros_like(edge)], 1),
                                 np.stack([np.full_like(edge, w - 1), edge * (h - 1)], 1),
                                 np.stack([(1 - edge) * (w - 1), np.full_like(edge, h - 1)], 1),
                                 np.stack([np.zeros_like(edge), (1 - edge) * (h - 1)], 1)])
        self._border = border
        self.source = np.concatenate([face, *self._rings, border]).astype(np.float32)
        self._n_face = len(face)
        self.triangles = self._triangulate()
        # Which landmark each eye-opening copy repeats; the copies follow the border in ``source``.
        self._copied = np.concatenate(self._eye_copies) if self._eye_copies else np.zeros(0, np.int64)
        self._first_copy = len(self.source)
        self.source = np.concatenate([self.source, face[self._copied]])
        # Which way round each triangle's corners run when it faces the viewer: the face mesh's as
        # the canonical face shows them frontally (y up, so flipped), the picture's own elsewhere.
        # A triangle turned away, in the picture or in the moved face, has no pixels to show: drawn
        # anyway it put specks of whatever lies behind (the far cheek's edge) into the face.
        from .mesh import canonical_mesh

        vertices = canonical_mesh().vertices[:, :2] * np.array([1.0, -1.0])
        in_picture = _signed_area(self.source, self.triangles)
        self._facing = np.sign(in_picture)
        on_mesh = (self.triangles < len(vertices)).all(axis=1)
        self._facing[on_mesh] = np.sign(_signed_area(vertices, self.triangles[on_mesh]))
        self._shown = in_picture * self._facing > 0  # faces the viewer in the picture

    def _triangulate(self) -> np.ndarray:
        from scipy.spatial import Delaunay as delaunay

        from .mesh import canonical_mesh

        n = self._n_face
        inside = _polygon_test(self.source[self._outline])
        mesh = canonical_mesh().triangles
        parts = []
        # Each eye opening is drawn on copies of its points (appended after the border), whose
        # place in the picture follows the lids (see _opening_sources).
        self._eye_copies: list[np.ndarray] = []
        if n >= 478:
            opening = np.zeros(len(mesh), bool)
            first_copy = len(self.source)
            for contour, iris in EYE_OPENINGS:
                ring = set(contour)
                opening |= np.array([set(t) <= ring for t in mesh.tolist()])
                points = np.array(sorted(ring) + iris)
                local = delaunay(self.source[points]).simplices
                test = _polygon_test(self.source[np.array(contour[:-1] if contour[0] == contour[-1] else contour)])
                local = local[[test(self.source[points[t]].mean(0)) for t in local]]
                parts.append(local + first_copy + sum(len(c) for c in self._eye_copies))
                self._eye_copies.append(points)
            mesh = mesh[~opening]
        parts.append(mesh)
        # Outside the face: outline + rings + border, minus what lies inside the outline.
        outer_index = np.concatenate([self._outline, np.arange(n, len(self.source))])
        tris = outer_index[delaunay(self.source[outer_index]).simplices]
        parts.append(tris[[not inside(self.source[t].mean(0)) for t in tris]])
        return np.concatenate(parts).astype(np.int32)

    def targets(self, landmarks: np.ndarray) -> np.ndarray:
        """Control-point positions for the moved face ``landmarks`` (rings follow its 2D motion)."""
        face = landmarks[:, :2].astype(np.float32)
        src_face = self.source[:self._n_face]
        s, r, _ = similarity_fit(src_face.astype(np.float64), face.astype(np.float64))
        moved = []
        # Each ring point keeps its offset from its own outline point (turned and scaled with the head),
        # so the band between the face and the ring stretches smoothly, with no fold at the outline.
        for ring, offset, (_, share) in zip(self._rings, self._offsets, RINGS):
            full = face[self._outline] + (s * (r @ offset.T)).T
            moved.append(ring + share * (full - ring))
        return np.concatenate([face, *moved, self._border, face[self._copied]]).astype(np.float32)

    def _opening_sources(self, targets: np.ndarray) -> np.ndarray:
        """The source points with each eye opening's copies placed for this frame's lids.

        An eye closing in the moved face is covered, not squeezed: where the moved opening is a
        share r of the picture's, it shows the lower r of the picture's opening at its own size
        (each lid copy moved toward the lower lid, across the eye, to r of its height above it;
        the iris's copies stay, the gaze moves them), and the upper lid's skin stretches down over
        the rest. Squeezed whole, a half-closed eye kept all its white in a bright sliver with the
        iris as a black scratch (the Pearl Earring)."""
        if not self._eye_copies:
            return self.source
        source = self.source.copy()
        start = self._first_copy
        for eye, ((contour, _), points) in enumerate(zip(EYE_OPENINGS, self._eye_copies)):
            copies = slice(start, start + len(points))
            start += len(points)
            outer, inner = contour[0], contour[8]
            share = float(np.clip(eye_opening(targets, eye) / max(eye_opening(self.source, eye), 1e-6), 0.0, 1.0))
            if share >= 1.0:
                continue
            origin = (self.source[outer] + self.source[inner]) / 2
            along = self.source[inner] - self.source[outer]
            along = along / max(float(np.linalg.norm(along)), 1e-6)
            across = np.array([-along[1], along[0]], np.float32)
            lid = self.source[contour[:9]] - origin  # the lower lid, corner to corner
            u_lid, v_lid = lid @ along, lid @ across
            order = np.argsort(u_lid)
            lids = slice(copies.start, copies.stop - 5)  # the copies' last five: the iris (moved by the gaze)
            here = source[lids] - origin
            u, v = here @ along, here @ across
            v_low = np.interp(u, u_lid[order], v_lid[order])
            source[lids] = origin + np.outer(u, along) + np.outer(v_low + share * (v - v_low), across)
        return source

    def _visible(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """This frame's triangles facing the viewer in the picture and in the moved face, and the
        source points (the eye openings' copies placed for its lids)."""
        triangles = self.triangles[self._shown & (_signed_area(targets, self.triangles) * self._facing > 0)]
        return triangles, self._opening_sources(targets)

    @staticmethod
    def _fetch(targets: np.ndarray, triangles: np.ndarray, sources: np.ndarray, shape: tuple[int, int],
               origin: np.ndarray, scale: np.ndarray, depth: np.ndarray | None):
        """Where each sample of a grid fetches from in the source. Sample (row j, column i) sits at
        output pixel ``origin + ((i, j) + 0.5) / scale - 0.5`` (cv2.resize's pixel centres).
        Returns (ids, where_x, where_y): the triangle id map (-1: no triangle there; its samples
        fetch (0, 0)) and the source position of every sample."""
        grid_targets = (targets - origin + 0.5) * scale - 0.5
        ids = rasterize(grid_targets, triangles, shape, depth=depth)
        # One affine map per triangle (moved corners -> source corners), applied per sample.
        where_x, where_y = affine_per_pixel(triangle_affine(grid_targets, triangles, sources), ids)
        return ids, where_x, where_y

    def maps(self, targets: np.ndarray, depth: np.ndarray | None = None,
             visible: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) for cv2.remap: where each output pixel comes from in the source.
        ``depth`` (per control point, larger = farther): where a turned face folds over itself,
        the nearer surface wins (the nose hides the far cheek), as in the mesh renderer.
        ``visible``: ``_visible(targets)``, when the caller has it already."""
        import cv2

        h, w = self.shape
        sh, sw = max(2, round(h * self.map_scale)), max(2, round(w * self.map_scale))
        sx, sy = sw / w, sh / h
        triangles, sources = visible if visible is not None else self._visible(targets)
        ids, where_x, where_y = self._fetch(targets, triangles, sources, (sh, sw), np.zeros(2, np.float32),
                                            np.array([sx, sy], np.float32), depth)
        # Upsample the displacement, not the map: where nothing moves it is exactly zero, so those
        # pixels (the picture's border, the still background) come out untouched.
        shift_x = where_x - ((np.arange(sw, dtype=np.float32) + 0.5) / sx - 0.5)[None, :]
        shift_y = where_y - ((np.arange(sh, dtype=np.float32) + 0.5) / sy - 0.5)[:, None]
        holes = ids < 0
        shift_x[holes], shift_y[holes] = 0.0, 0.0
        if holes.any() and not holes.all():
            # Where only turned-away triangles lay (the far cheek turning into view), the nearest
            # shown pixel's displacement: the edge of what the picture shows, stretched a little.
            _, nearest = cv2.distanceTransformWithLabels(holes.astype(np.uint8), cv2.DIST_L2, 3,
                                                         labelType=cv2.DIST_LABEL_PIXEL)
            shown_y, shown_x = np.nonzero(~holes)  # label k is the k-th shown pixel in raster order
            hy, hx = np.nonzero(holes)
            k = nearest[hy, hx] - 1
            shift_x[hy, hx] = shift_x[shown_y[k], shown_x[k]]
            shift_y[hy, hx] = shift_y[shown_y[k], shown_x[k]]
        full_x, full_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return (full_x + cv2.resize(shift_x, (w, h), interpolation=cv2.INTER_LINEAR),
                full_y + cv2.resize(shift_y, (w, h), interpolation=cv2.INTER_LINEAR))

    def _eye_windows(self, targets: np.ndarray) -> list[tuple[slice, slice]]:
        """Output windows around each moved eye opening (its box grown by a third of its width
        and 2 px on every side) where the warp is supersampled."""
        h, w = self.shape
        windows = []
        for contour, _ in EYE_OPENINGS if self._eye_copies else ():
            points = targets[list(contour)]
            lo, hi = points.min(0), points.max(0)
            pad = 0.35 * float(hi[0] - lo[0]) + 2.0
            x0, y0 = (np.floor(lo - pad)).astype(int)
            x1, y1 = (np.ceil(hi + pad)).astype(int) + 1
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                windows.append((slice(y0, y1), slice(x0, x1)))
        return windows

    def _supersampled(self, image: np.ndarray, targets: np.ndarray, depth: np.ndarray | None,
                      visible: tuple[np.ndarray, np.ndarray], window: tuple[slice, slice],
                      map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
        """The warped ``window``, each pixel the mean of SUPERSAMPLE x SUPERSAMPLE fetches.
        A closing eye is a sliver of triangles a pixel or two high between the lids: fetched once
        per pixel, the columns whose centre fell in the sliver showed the eye's white and the rest
        the lid, a staircase of bright specks along the lash line (the Mona Lisa, winking)."""
        import cv2

        k = SUPERSAMPLE
        rows, cols = window
        origin = np.array([cols.start, rows.start], np.float32)
        shape = ((rows.stop - rows.start) * k, (cols.stop - cols.start) * k)
        triangles, sources = visible
        # Only triangles reaching into the window (the rest would be clipped, one call each).
        corners = targets[triangles]
        near = ((corners[..., 0].max(1) >= cols.start - 1) & (corners[..., 0].min(1) <= cols.stop)
                & (corners[..., 1].max(1) >= rows.start - 1) & (corners[..., 1].min(1) <= rows.stop))
        ids, fine_x, fine_y = self._fetch(targets, triangles[near], sources, shape, origin,
                                          np.array([k, k], np.float32), depth)
        holes = ids < 0
        if holes.any():  # samples no shown triangle covers take their pixel's own fetch (hole fill)
            fine_x[holes] = np.repeat(np.repeat(map_x[window], k, 0), k, 1)[holes]
            fine_y[holes] = np.repeat(np.repeat(map_y[window], k, 0), k, 1)[holes]
        fine = cv2.remap(image, fine_x, fine_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        return cv2.resize(fine, (cols.stop - cols.start, rows.stop - rows.start), interpolation=cv2.INTER_AREA)

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        import cv2

        # Rings and border lie behind the face: it is drawn over them where they overlap.
        z = landmarks[:, 2].astype(np.float32)
        behind = float(z.max() + (z.max() - z.min()) + 1.0)
        depth = np.concatenate([z, np.full(self._first_copy - len(z), behind, np.float32), z[self._copied]])
        targets = self.targets(landmarks)
        visible = self._visible(targets)
        map_x, map_y = self.maps(targets, depth, visible)
        out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        _soften_jumps(out, map_x, map_y)
        for window in self._eye_windows(targets):
            out[window] = self._supersampled(image, targets, depth, visible, window, map_x, map_y)
        return out
