import numpy as np

from facepaint.mesh import canonical_mesh
from facepaint.render import UVUnwrapper, barycentric, rasterize, rasterize_face, sample_texture


def test_canonical_mesh_from_the_landmarker_bundle():
    mesh = canonical_mesh()
    assert mesh.vertices.shape == (468, 3) and mesh.uv.shape == (468, 2) and mesh.triangles.shape == (898, 3)
    np.testing.assert_allclose(mesh.vertices[0], [0.0, -3.406404, 5.979507], atol=1e-5)
    assert mesh.triangles.min() == 0 and mesh.triangles.max() == 467
    assert (mesh.uv >= 0).all() and (mesh.uv <= 1).all()


def test_rasterize_depth_order_and_barycentric():
    pts = np.array([[1, 1], [18, 1], [1, 18], [2, 2], [19, 2], [2, 19]], np.float32)
    tris = np.array([[0, 1, 2], [3, 4, 5]])
    near_second = rasterize(pts, tris, (20, 20), depth=np.array([5, 5, 5, 1, 1, 1], np.float32))
    near_first = rasterize(pts, tris, (20, 20), depth=np.array([1, 1, 1, 5, 5, 5], np.float32))
    assert near_second[5, 5] == 1 and near_first[5, 5] == 0  # the nearer triangle wins
    w = barycentric(np.array([[1.0, 1.0], [18.0, 1.0], [6.0, 6.0]]), pts[[0, 0, 0]][None].repeat(3, 0)[:, 0:1].repeat(3, 1) * 0 + pts[:3][None])
    np.testing.assert_allclose(w[0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(w[1], [0, 1, 0], atol=1e-6)
    assert abs(w[2].sum() - 1) < 1e-6


def test_unwrap_then_render_reproduces_the_face(astronaut, landmarker, detector):
    fit = landmarker(astronaut, detector(astronaut)[0].box)
    texture, visible = UVUnwrapper(256).unwrap(astronaut, fit.landmarks)
    assert visible.mean() > 0.5
    raster = rasterize_face(fit.landmarks, astronaut.shape[:2])
    again = sample_texture(texture.astype(np.uint8), raster)
    ys, xs = raster.slices
    original = astronaut[ys, xs][raster.mask].astype(float)
    error = np.abs(again[raster.mask].astype(float) - original).mean()
    assert error < 6.0  # two resamplings of a 256 px texture
