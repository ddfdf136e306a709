"""Mesh rendering: the canonical face mesh laid over a face's landmarks, sampled from a UV texture.

One renderer serves every mode that redraws a face from a texture (anonymize's synthetic
identity, animate's portrait) and the model-building scripts that unwrap photos into UV space:

- ``rasterize`` draws triangle ids into an id map (OpenCV's polygon fill, painter's order by
  depth so the near side of a turned head hides the far side);
- ``triangle_affine`` gives each triangle the affine map from pixel to a per-vertex attribute (UV,
  source position), so attributes are interpolated per pixel with two multiply-adds
  (``barycentric`` gives the weights themselves, for unwrapping photos);
- ``render_face`` samples a texture at the interpolated UVs with one ``cv2.remap``.

Everything is per face and touches only the face's bounding box, so cost follows face size, not
frame size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh import FaceMesh, canonical_mesh


def rasterize(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int],
              depth: np.ndarray | None = None) -> np.ndarray:
    """Id map (H, W) int32: index of the triangle covering each pixel, -1 where none.

    points: (V, 2) pixel positions; depth: (V,) larger = farther (drawn first).
    Polygon filling is OpenCV's (C speed); a numpy edge-function rasterizer would touch
    every pixel for every triangle.
    """
    import cv2

    ids = np.full(shape, -1, dtype=np.int32)
    order = np.arange(len(triangles))
    if depth is not None:
        order = np.argsort(-depth[triangles].mean(axis=1), kind="stable")
    # Fixed-point coordinates (4 fractional bits) keep shared edges watertight.
    corners = np.round(points[triangles] * 16).astype(np.int32)
    for t in order:
        cv2.fillConvexPoly(ids, corners[t], int(t), lineType=cv2.LINE_8, shift=4)
    return ids


def barycentric(pixels: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Weights (N, 3) of ``pixels`` (N, 2) in triangles ``corners`` (N, 3, 2), clipped to the triangle."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1, v2 = b - a, c - a, pixels - a
    d00 = (v0 * v0).sum(1)
    d01 = (v0 * v1).sum(1)
    d11 = (v1 * v1).sum(1)
    d20 = (v2 * v0).sum(1)
    d21 = (v2 * v1).sum(1)
    denom = d00 * d11 - d01 * d01
    denom = np.where(np.abs(denom) < 1e-9, 1e-9, denom)
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    weights = np.stack([1 - v - w, v, w], axis=1)
    weights = np.clip(weights, 0, None)  # pixels on a drawn edge can fall a hair outside
    return weights / np.maximum(weights.sum(1, keepdims=True), 1e-9)


def triangle_affine(points: np.ndarray, triangles: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(T, 3, C) float32: per triangle, the affine map from a pixel to a per-vertex attribute
    (``values`` (V, C): UVs, source positions), as rows for x, y and 1:
    value = x * m[0] + y * m[1] + m[2]. Inside a triangle this equals barycentric interpolation,
    at a fraction of the per-pixel cost."""
    corners = np.concatenate([points[triangles].astype(np.float64), np.ones((len(triangles), 3, 1))], axis=2)
    flat = np.abs(np.linalg.det(corners)) < 1e-6
    corners[flat] = np.eye(3)  # collapsed (edge-on) triangles cover no pixel anyway
    return np.linalg.solve(corners, values[triangles].astype(np.float64)).astype(np.float32)


def affine_per_pixel(maps: np.ndarray, ids: np.ndarray) -> list[np.ndarray]:
    """Per channel, an (H, W) map: each pixel's triangle's affine map (``triangle_affine``'s
    (T, 3, C)) applied at the pixel; 0 where ``ids`` is -1 (no triangle). The six numbers are
    gathered one at a time: a gather of whole (3, C) matrices per pixel took several times as long."""
    maps = np.concatenate([maps, np.zeros((1,) + maps.shape[1:], maps.dtype)])  # row -1: no triangle
    xs = np.arange(ids.shape[1], dtype=np.float32)[None, :]
    ys = np.arange(ids.shape[0], dtype=np.float32)[:, None]
    return [xs * maps[:, 0, c][ids] + ys * maps[:, 1, c][ids] + maps[:, 2, c][ids] for c in range(maps.shape[2])]


@dataclass
class FaceRaster:
    """Where the mesh lands in a frame: a box, its triangle-id map and per-pixel UVs."""

    x0: int
    y0: int
    ids: np.ndarray  # (h, w) int32
    uv: np.ndarray  # (h, w, 2) float32, NaN outside the face

    @property
    def mask(self) -> np.ndarray:
        return self.ids >= 0

    @property
    def slices(self) -> tuple[slice, slice]:
        h, w = self.ids.shape
        return slice(self.y0, self.y0 + h), slice(self.x0, self.x0 + w)


def face_box(landmarks: np.ndarray, frame_shape: tuple[int, int], margin: int = 2) -> tuple[int, int, int, int]:
    """Integer pixel box (x0, y0, x1, y1) around the mesh, clipped to the frame."""
    pts = landmarks[:468, :2]
    height, width = frame_shape
    return (int(max(0, np.floor(pts[:, 0].min()) - margin)), int(max(0, np.floor(pts[:, 1].min()) - margin)),
            int(min(width, np.ceil(pts[:, 0].max()) + margin + 1)),
            int(min(height, np.ceil(pts[:, 1].max()) + margin + 1)))


def rasterize_face(landmarks: np.ndarray, frame_shape: tuple[int, int], mesh: FaceMesh | None = None,
                   margin: int = 2, box: tuple[int, int, int, int] | None = None) -> FaceRaster | None:
    """Lay the mesh over ``landmarks`` (478 or 468, x/y in pixels, z larger = farther).

    ``box`` fixes the pixel window (to rasterize two meshes on one grid); default: the mesh's own.
    """
    mesh = mesh or canonical_mesh()
    pts = landmarks[:468, :2].astype(np.float32)
    x0, y0, x1, y1 = box if box is not None else face_box(landmarks, frame_shape, margin)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    local = pts - np.array([x0, y0], np.float32)
    ids = rasterize(local, mesh.triangles, (y1 - y0, x1 - x0), depth=landmarks[:468, 2])
    # Pixels on a drawn edge can lie a hair outside their (maybe sliver) triangle: their UVs stay
    # within the triangle's own UV range instead of extrapolating along the sliver.
    corner_uv = mesh.uv[mesh.triangles]
    lo, hi = corner_uv.min(1), corner_uv.max(1)
    uv = np.stack([np.clip(value, lo[:, c][ids], hi[:, c][ids]) for c, value in
                   enumerate(affine_per_pixel(triangle_affine(local, mesh.triangles, mesh.uv), ids))], axis=-1)
    uv[ids < 0] = np.nan
    return FaceRaster(x0, y0, ids, uv)


def sample_texture(texture: np.ndarray, raster: FaceRaster) -> np.ndarray:
    """Texture colours at each pixel of the raster (zeros outside the face)."""
    import cv2

    size_y, size_x = texture.shape[:2]
    uv = np.nan_to_num(raster.uv, nan=-1.0)
    map_x = uv[..., 0] * (size_x - 1)
    map_y = uv[..., 1] * (size_y - 1)
    return cv2.remap(texture, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT)


class UVUnwrapper:
    """The inverse direction: for a square texture, which image point each texel shows.

    Used to build texture models from photos (models/synthetic_faces/build.py).
    """

    def __init__(self, size: int = 256, mesh: FaceMesh | None = None):
        self.mesh = mesh or canonical_mesh()
        self.size = size
        self.ids = rasterize(self.mesh.uv * (size - 1), self.mesh.triangles, (size, size))
        ys, xs = np.nonzero(self.ids >= 0)
        self._texels = (ys, xs)
        tri = self.mesh.triangles[self.ids[ys, xs]]
        self._tri = tri
        self._weights = barycentric(np.stack([xs, ys], 1).astype(np.float32),
                                    (self.mesh.uv * (size - 1))[tri])

    @property
    def mask(self) -> np.ndarray:
        return self.ids >= 0

    def unwrap(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(texture (S, S, 3) float32 0-255, visibility (S, S) float32 0-1) of the face in ``image``."""
        import cv2

        pts = landmarks[:468, :2].astype(np.float32)
        where = (self._weights[:, :, None] * pts[self._tri]).sum(1)
        map_x = np.full((self.size, self.size), -1, np.float32)
        map_y = np.full((self.size, self.size), -1, np.float32)
        ys, xs = self._texels
        map_x[ys, xs], map_y[ys, xs] = where[:, 0], where[:, 1]
        texture = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT).astype(np.float32)
        # Visibility: triangles facing the camera (screen-space winding) count fully.
        corners = pts[self.mesh.triangles]
        cross = ((corners[:, 1, 0] - corners[:, 0, 0]) * (corners[:, 2, 1] - corners[:, 0, 1])
                 - (corners[:, 1, 1] - corners[:, 0, 1]) * (corners[:, 2, 0] - corners[:, 0, 0]))
        uvc = self.mesh.uv[self.mesh.triangles]
        uv_cross = ((uvc[:, 1, 0] - uvc[:, 0, 0]) * (uvc[:, 2, 1] - uvc[:, 0, 1])
                    - (uvc[:, 1, 1] - uvc[:, 0, 1]) * (uvc[:, 2, 0] - uvc[:, 0, 0]))
        facing = (np.sign(cross) == np.sign(uv_cross)).astype(np.float32)
        visibility = np.zeros((self.size, self.size), np.float32)
        visibility[ys, xs] = facing[self.ids[ys, xs]]
        return texture, visibility
