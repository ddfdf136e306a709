"""The canonical face mesh (468 vertices with UVs, 898 triangles) from inside the landmarker model.

``face_landmarker.task`` is a zip holding ``geometry_pipeline_metadata_landmarks.binarypb``, a
``GeometryPipelineMetadata`` protobuf with the mesh MediaPipe uses for its face geometry. mediapipe
1.x ships no generated ``*_pb2`` for that schema, so we read the protobuf wire format directly: the
mesh is two repeated fields, and a 20-line reader beats generating schema code for them.

Schema (mediapipe/tasks/cc/vision/face_geometry/proto): metadata field 1 = canonical_mesh
(Mesh3d: field 3 repeated float vertex_buffer as x, y, z, u, v per vertex; field 4 repeated uint32
index_buffer, three per triangle).
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import assets


@dataclass(frozen=True)
class FaceMesh:
    vertices: np.ndarray  # (468, 3) canonical positions, cm
    uv: np.ndarray  # (468, 2) texture coordinates in [0, 1], v down the face
    triangles: np.ndarray  # (898, 3) vertex indices


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(data: bytes):
    """(field number, value) pairs; value is int (varint), bytes (length-delimited) or 4/8 raw bytes."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _repeated(mesh: bytes, number: int, wire: int) -> list:
    """A repeated field, packed or not."""
    out: list = []
    for n, w, value in _fields(mesh):
        if n != number:
            continue
        if w == wire:
            out.append(struct.unpack("<f", value)[0] if wire == 5 else value)
        elif w == 2 and wire == 5:  # packed floats
            out.extend(struct.unpack(f"<{len(value) // 4}f", value))
        elif w == 2 and wire == 0:  # packed varints
            j = 0
            while j < len(value):
                v, j = _varint(value, j)
                out.append(v)
    return out


@lru_cache(maxsize=1)
def canonical_mesh() -> FaceMesh:
    with zipfile.ZipFile(assets.face_landmarker_task()) as bundle:
        metadata = bundle.read("geometry_pipeline_metadata_landmarks.binarypb")
    mesh = next(value for number, wire, value in _fields(metadata) if number == 1 and wire == 2)
    vertex_buffer = np.array(_repeated(mesh, 3, 5), dtype=np.float32).reshape(-1, 5)
    triangles = np.array(_repeated(mesh, 4, 0), dtype=np.int32).reshape(-1, 3)
    return FaceMesh(vertices=vertex_buffer[:, :3], uv=vertex_buffer[:, 3:5], triangles=triangles)


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama (1991): scale s, rotation R, translation t with dst ~ s R src + t (least squares).
    Works in 2D or 3D (points as rows). Written out because it is six lines of numpy: OpenCV's
    estimateAffinePartial2D is 2D only and RANSAC-based, and scipy's Rotation.align_vectors has no scale."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(len(sig))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rotation = (u * d) @ vt
    scale = float((sig * d).sum() / max((a ** 2).sum() / len(src), 1e-12))
    return scale, rotation, mu_d - scale * rotation @ mu_s
