"""Rebuild models/synthetic_faces/synthetic_faces.npz: a texture model of faces that belong to nobody.

    .venv/bin/python models/synthetic_faces/build.py [--data ../shared/data] [--limit N] [--out FILE]

Every usable photo in ../shared/data/images/expressions/labelled (about 80 different people) and its
mirror image is unwrapped into the canonical mesh's UV space with our own face stack. Those photos
are almost all grayscale, so the model is of luminance only: it supplies the face's structure
(eyes, brows, nostrils, lip lines, skin texture) and the renderer takes colour and lighting from
the scene (see core/facepaint/modes/anonymize.py). Each texture is normalised (mean and spread over
the skin), then the model stores:

- ``mean``: the average texture (256 x 256 luminance), a face of nobody, with the beard shadow of
  the mostly male, often stubbled photos lifted (``clear_beard_shadow``);
- ``components``/``scales``: the main ways the faces differ (PCA, 128 x 128; broad beard-zone
  changes removed, ``clean_shaven``), so each track can get its own synthetic person:
  mean + sum(c_i * scale_i * component_i) with small random c_i;
- ``expression_names``/``expression_deltas``/``expression_means``: how the skin changes with the
  expression (smile folds, raised cheeks, brow furrows, a dropped jaw): a ridge regression, per
  texel, of the normalised textures on the faces' blendshapes (128 x 128 per blendshape). The
  renderer adds sum(delta_k * (blendshape_k - mean_k)) to a track's texture every frame, so its
  synthetic skin creases the way the population's does for this expression;
- ``beard_zone``: where stubble sits (upper lip and chin, lips excluded; 256 x 256, 0-1), so the
  renderer does not bring a beard back when it sharpens the lower face's detail;
- ``sources``: how many faces went in.

No single person can come back out: the mean blends every face, and identities are sampled with
coefficients well inside the spread of the training set (see core/facepaint/modes/anonymize.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SIZE, SMALL, COMPONENTS = 256, 128, 16
# Blendshapes whose look on the skin the model learns (both sides: the mirrored photos teach symmetry).
EXPRESSIONS = ["mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthStretchLeft",
               "mouthStretchRight", "mouthPressLeft", "mouthPressRight", "jawOpen", "cheekSquintLeft",
               "cheekSquintRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
               "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
               "noseSneerLeft", "noseSneerRight"]


def skin_stats(texture: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    mean = float((texture * weight).sum() / max(weight.sum(), 1))
    std = float(np.sqrt(((texture - mean) ** 2 * weight).sum() / max(weight.sum(), 1)))
    return mean, max(std, 1.0)


def collect(data: Path, limit: int | None):
    import cv2

    from facepaint.facestack import FaceStack
    from facepaint.media import read_image
    from facepaint.render import UVUnwrapper
    from facepaint.types import Frame

    unwrapper = UVUnwrapper(SIZE)
    photos = sorted((data / "images" / "expressions" / "labelled").glob("*.jpg"))[:limit]
    textures, weights, names, expressions = [], [], [], []
    stack = FaceStack()
    try:
        for photo in photos:
            image = read_image(photo)
            for mirrored in (False, True):
                frame = np.ascontiguousarray(image[:, ::-1]) if mirrored else image
                stack.reset()
                faces = [f for f in stack(Frame(frame)) if f.landmarks is not None]
                if not faces:
                    continue
                face = max(faces, key=lambda f: f.size)  # LFW: the subject is centred and largest
                if face.size < 60 or abs(face.pose.yaw) > 25 or abs(face.pose.pitch) > 25:
                    continue
                texture, visible = unwrapper.unwrap(frame, face.landmarks)
                texture = texture @ np.array([0.299, 0.587, 0.114], np.float32)  # luminance
                # Open mouths put teeth where the closed lips are in UV space: leave them out there.
                if face.blendshapes["jawOpen"] > 0.12:
                    visible = visible * (1 - mouth_region(unwrapper))
                visible = cv2.erode(visible, np.ones((3, 3), np.uint8))
                textures.append(texture)
                weights.append(visible)
                names.append(photo.name + (" (mirrored)" if mirrored else ""))
                expressions.append([face.blendshapes[k] for k in EXPRESSIONS])
    finally:
        stack.close()
    return textures, weights, names, np.array(expressions, np.float32)


def mouth_region(unwrapper) -> np.ndarray:
    import cv2

    from facepaint.draw import LIPS_OUTER

    polygon = (unwrapper.mesh.uv[LIPS_OUTER] * (SIZE - 1)).astype(np.int32)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(mask, [polygon], 1)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(np.float32)


def expression_model(normalised: np.ndarray, weights: np.ndarray, expressions: np.ndarray,
                     spread: float, ridge: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(deltas (K, SMALL, SMALL) in luminance units per unit of blendshape, blendshape means (K,)).

    Per texel, weighted least squares of the texture on the centred blendshapes (texels a face did
    not show weigh nothing), with a ridge so rare expressions cannot fit one person's face."""
    import cv2

    small = np.stack([cv2.resize(t, (SMALL, SMALL), interpolation=cv2.INTER_AREA) for t in normalised])
    w = np.stack([cv2.resize(t, (SMALL, SMALL), interpolation=cv2.INTER_AREA) for t in weights])
    means = expressions.mean(0)
    x = expressions - means  # (N, K)
    n, k = x.shape
    flat_t, flat_w = small.reshape(n, -1), w.reshape(n, -1)  # (N, T)
    # Per texel: (X^T W X + ridge * var(X) * N_eff * I) beta = X^T W (t - mean_t), N_eff = the
    # texel's total weight: the penalty grows with the data, so ridge means the same everywhere.
    t_mean = (flat_t * flat_w).sum(0) / np.maximum(flat_w.sum(0), 1e-6)
    lhs = np.einsum("nt,ni,nj->tij", flat_w, x, x)
    lhs += ridge * x.var(0).mean() * flat_w.sum(0)[:, None, None] * np.eye(k)[None]
    rhs = np.einsum("nt,ni,nt->ti", flat_w, x, flat_t - t_mean[None])
    beta = np.linalg.solve(lhs + 1e-6 * np.eye(k)[None], rhs[..., None])[..., 0]  # (T, K)
    deltas = beta.T.reshape(k, SMALL, SMALL)
    deltas = np.stack([cv2.GaussianBlur(d, (0, 0), 1.0) for d in deltas]) * spread
    return deltas.astype(np.float32), means.astype(np.float32)


def uv_polygon(indices: list[int], smooth: bool = True) -> np.ndarray:
    """(SIZE, SIZE) float32 0-1 mask of a polygon of mesh vertices in UV space (``smooth``:
    anti-aliased with quarter-pixel corners; otherwise corners rounded to whole texels)."""
    import cv2

    from facepaint.mesh import canonical_mesh

    corners = canonical_mesh().uv[indices] * (SIZE - 1)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    if smooth:
        cv2.fillPoly(mask, [np.round(corners * 4).astype(np.int32)], 1, cv2.LINE_AA, shift=2)
    else:
        cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
    return mask.astype(np.float32)


def beard_zone(face_mask: np.ndarray) -> np.ndarray:
    """(SIZE, SIZE) soft 0-1 mask of the upper lip (nose base to the lip's top) and the chin
    (lower lip down), without the lips themselves."""
    import cv2

    from facepaint.draw import LIPS_OUTER

    upper_lip = [98, 97, 2, 326, 327, 423, 426, 436, 432, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185, 61, 212,
                 216, 206, 203]
    chin = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 432, 430, 434, 364, 394, 395, 369, 396, 175, 171,
            140, 170, 169, 135, 214, 210, 212]
    lips = uv_polygon(LIPS_OUTER)
    zone = np.clip(uv_polygon(upper_lip) + uv_polygon(chin) - cv2.dilate(lips, np.ones((3, 3), np.uint8)), 0, 1)
    return cv2.GaussianBlur(zone, (0, 0), 3.0) * face_mask.astype(np.float32)


def clear_beard_shadow(mean: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
    """The photos are mostly of men, many with stubble: averaged, they give every synthetic person
    a moustache-and-goatee shadow (women included). Lift the broad darkness of the upper lip and
    chin to the level of the skin around it; the fine structure there (lip line, philtrum, the
    chin's shading) stays, and nothing is made darker."""
    import cv2

    from facepaint.draw import LIPS_OUTER

    zone = beard_zone(face_mask)
    lips = cv2.GaussianBlur(cv2.dilate(uv_polygon(LIPS_OUTER, smooth=False), np.ones((5, 5), np.uint8)), (0, 0), 2.0)
    skin = face_mask.astype(np.float32)
    broad = cv2.GaussianBlur(mean, (0, 0), 4.0)
    around = skin * (1 - np.clip(2 * zone, 0, 1)) * (1 - lips)
    level = cv2.GaussianBlur(broad * around, (0, 0), 14.0) / np.maximum(cv2.GaussianBlur(around, (0, 0), 14.0), 1e-4)
    return (mean + zone * (np.maximum(broad, level) - broad)).astype(np.float32)


def clean_shaven(components: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
    """The ways faces differ, without broad changes in the beard zone: among ~80 mostly male
    people, one of the main variations is a beard, and a synthetic person drawn with it looks
    bearded whoever they replace. Fine structure there stays."""
    import cv2

    zone = cv2.resize(beard_zone(face_mask), components.shape[1:][::-1], interpolation=cv2.INTER_AREA)
    out = []
    for component in components.astype(np.float32):
        out.append(component - zone * cv2.GaussianBlur(component, (0, 0), 2.0))
    return np.stack(out).astype(components.dtype)


def build(textures, weights, face_mask):
    import cv2

    normalised = []
    skin = face_mask.astype(np.float32)
    for texture, weight in zip(textures, weights):
        mean, std = skin_stats(texture, weight * skin)
        normalised.append((texture - mean) / std)
    stack = np.stack(normalised)  # (N, S, S)
    w = np.stack(weights)
    mean_norm = (stack * w).sum(0) / np.maximum(w.sum(0), 1e-6)
    # Texels a face did not show take the mean, so PCA sees only real variation.
    filled = np.where(w > 0.5, stack, mean_norm[None])
    # Bring the mean back to a typical skin colour and spread.
    stats = [skin_stats(t, wt * skin) for t, wt in zip(textures, weights)]
    colour = np.mean([s[0] for s in stats], axis=0)
    spread = np.mean([s[1] for s in stats], axis=0)
    mean = np.clip(mean_norm * spread + colour, 0, 255)
    small = np.stack([cv2.resize(f, (SMALL, SMALL), interpolation=cv2.INTER_AREA) for f in filled - mean_norm[None]])
    flat = small.reshape(len(small), -1)
    _, singular, vt = np.linalg.svd(flat, full_matrices=False)
    k = min(COMPONENTS, len(singular))
    scales = singular[:k] / np.sqrt(max(len(flat) - 1, 1))
    components = vt[:k].reshape(k, SMALL, SMALL) * spread  # in luminance units
    return (mean.astype(np.float32), components.astype(np.float16), scales.astype(np.float32),
            stack, float(spread))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N photos (tests)")
    parser.add_argument("--out", type=Path, default=HERE / "synthetic_faces.npz")
    parser.add_argument("--ridge", type=float, default=1.0, help="regularisation of the expression model")
    args = parser.parse_args()
    from facepaint.render import UVUnwrapper

    textures, weights, names, expressions = collect(args.data, args.limit)
    if len(textures) < 2:
        print(f"build: need at least 2 usable faces, found {len(textures)}", file=sys.stderr)
        return 2
    face_mask = UVUnwrapper(SIZE).mask
    mean, components, scales, normalised, spread = build(textures, weights, face_mask)
    mean = clear_beard_shadow(mean, face_mask)
    components = clean_shaven(components, face_mask)
    deltas, expression_means = expression_model(normalised, np.stack(weights), expressions, spread, args.ridge)
    stubble = beard_zone(face_mask)
    stubble /= max(float(stubble.max()), 1e-6)
    tmp = args.out.with_name(args.out.stem + ".partial.npz")
    np.savez_compressed(tmp, mean=mean.astype(np.float16), components=components, scales=scales,
                        sources=np.array(len(textures)), names=np.array(names),
                        expression_names=np.array(EXPRESSIONS), expression_deltas=deltas.astype(np.float16),
                        expression_means=expression_means, beard_zone=stubble.astype(np.float16))
    tmp.replace(args.out)
    print(f"build: {len(textures)} faces -> {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
