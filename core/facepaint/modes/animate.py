"""Animate: a still portrait (a photo, a painting) moves as the driving face moves.

Per driving frame:

1. the driver's face (the engine's face stack: landmarks already smoothed over time) gives its
   expression and head motion relative to its neutral frame (the first frame with a face, or
   ``neutral_frame``);
2. ``retarget.Retargeter`` applies them to the portrait's own landmarks: the portrait keeps its
   face shape and identity, and smiles, blinks, opens its mouth and turns as the driver does;
3. ``warp.LandmarkWarp`` moves the portrait's pixels with its landmarks (piecewise affine), with
   two rings around the face so hair, neck and background follow smoothly; it warps the picture
   with its irises lifted out, and ``irises.IrisSprites`` pastes each iris, whole, where the gaze
   puts it, cut off by the lids (warped along, an iris smeared into the white it left);
4. what the portrait never showed is drawn: the mouth interior (dark, teeth) where the lips part
   wider than in the picture; a shutting eye's slit darkens to a lash line (``irises.LidShade``),
   the warp having stretched the lid over the rest.

The output is the portrait's canvas (``size``, ``crop``), not the driving frame.
"""

from __future__ import annotations

import numpy as np

from ..draw import FACE_OVAL, LEFT_BROW, LEFT_EYE, LIPS_INNER, LIPS_OUTER, RIGHT_BROW, RIGHT_EYE
from ..errors import FacepaintError
from ..features import ENAMEL, LUMA, bared_teeth, draw_mouth_interior, polygon_mask
from ..irises import IrisSprites, LidShade
from ..retarget import Retargeter
from ..types import Face, Frame
from ..warp import LandmarkWarp
from . import Mode, register_mode

CROPS = ("face", "full")
TEETH_FROM = 0.02  # lips parted by this share of the face height show teeth (a sneer, a smile, speech)


def portrait_canvas(image: np.ndarray, box: np.ndarray | None, size: int, crop: str) -> np.ndarray:
    """The picture the animation draws on: a square around the face (3 face sizes, kept inside the
    picture where it can be) or the whole picture, scaled so its longer side is ``size`` (even)."""
    import cv2

    h, w = image.shape[:2]
    if crop == "face" and box is not None:
        x0, y0, x1, y1 = box
        side = int(min(max(h, w), round(3.0 * max(x1 - x0, y1 - y0))))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.1 * (y1 - y0)
        left = int(np.clip(round(cx - side / 2), 0, max(0, w - side)))
        top = int(np.clip(round(cy - side / 2), 0, max(0, h - side)))
        image = image[top:top + side, left:left + side]
        h, w = image.shape[:2]
    scale = size / max(h, w)
    out_w, out_h = max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)
    return cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def teeth_colour(picture: np.ndarray, landmarks: np.ndarray, light_level: float) -> np.ndarray:
    """Teeth in the picture's own palette (before ``light_level``): a little lighter than the face's
    skin and half way to a natural ivory. Paper-white teeth on a varnished painting look pasted on
    (and the recogniser reads the face as another person's)."""
    skin = polygon_mask(landmarks[FACE_OVAL, :2], picture.shape[:2])
    for part in (LIPS_OUTER, LEFT_EYE, RIGHT_EYE, LEFT_BROW, RIGHT_BROW):
        skin *= 1 - polygon_mask(landmarks[part, :2], picture.shape[:2])
    pixels = picture[skin > 0.5].astype(np.float32)
    if len(pixels) < 20:
        return ENAMEL
    # Lit skin: the brightest third of the face. The median of all of it takes in the shaded side
    # of a face lit from one side (the Pearl Earring), and teeth at that level looked grey.
    luma = pixels @ LUMA
    colour = np.median(pixels[luma >= np.percentile(luma, 67)], axis=0)
    level = float(colour @ LUMA) * 0.9  # teeth: a little below lit skin (whiter read as another person)
    ivory = ENAMEL * level / float(ENAMEL @ LUMA)
    lifted = colour + 0.2 * (255 - colour)
    return np.clip(0.5 * ivory + 0.5 * lifted, 0, 255).astype(np.float32) / light_level


@register_mode("animate")
class Animate(Mode):
    """``portrait``: RGB uint8 picture; ``size``: longer side of the output; ``crop``: face or full;
    ``neutral_frame``: index of the driving frame whose face counts as neutral (default: the
    first frame with a face); ``motion``: share of the driver's head translation to follow;
    ``gaze``: share of the driver's own gaze the portrait takes (``retarget.Retargeter``)."""

    alters_whole_frame = True

    def __init__(self, device: str = "cpu", portrait: np.ndarray | None = None, size: int = 512,
                 crop: str = "face", neutral_frame: int = 0, motion: float = 1.0, expression: float = 1.0,
                 gaze: float = 0.5):
        super().__init__(device)
        from ..facestack import FaceStack

        if portrait is None:
            raise FacepaintError("animate needs a portrait picture")
        if crop not in CROPS:
            raise FacepaintError(f"unknown crop {crop!r} (choose from {', '.join(CROPS)})")
        if size < 64:
            raise FacepaintError(f"--size must be at least 64, got {size}")
        portrait = np.ascontiguousarray(portrait[..., :3])
        stack = FaceStack(device=device)
        try:
            face = self._main_face(stack, portrait)
            self.canvas = portrait_canvas(portrait, face.box, size, crop)
            stack.reset()
            face = self._main_face(stack, self.canvas)
        finally:
            stack.close()
        if face.landmarks is None:
            raise FacepaintError("the portrait's face was found but its landmarks could not be read")
        self.portrait_face = face
        self.retarget = Retargeter(face.landmarks, expression=expression, motion=motion, gaze=gaze)
        self.warp = LandmarkWarp(face.landmarks, self.canvas.shape[:2])
        self.irises = IrisSprites(self.canvas, face.landmarks)
        self.lids = LidShade(self.canvas, face.landmarks)
        self.neutral_frame = neutral_frame
        self.driver_track: int | None = None
        self._last = face.landmarks
        luminance = self.canvas[self.canvas.shape[0] // 4: 3 * self.canvas.shape[0] // 4].max(axis=2)
        self._light = float(np.clip(np.percentile(luminance, 95) / 200.0, 0.45, 1.25))
        self._enamel = teeth_colour(self.canvas, face.landmarks, self._light)
        self._face_height = float(np.linalg.norm(face.landmarks[10, :2] - face.landmarks[152, :2]))
        self._portrait_gap = self._lip_gap(face.landmarks)
        # A black-and-white picture (the Yale photos, an etching) stays one: its drawn mouth was red.
        self._grey = bool((np.ptp(self.canvas.astype(np.int16), axis=2) <= 2).all())
        self._bared = 1.0  # how far the driver's lips draw back off the teeth (features.bared_teeth)
        self.stats = {"animated": 0, "held": 0}

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return self.canvas.shape[1], self.canvas.shape[0]  # the portrait's canvas, whatever the driver

    @staticmethod
    def _main_face(stack, image: np.ndarray) -> Face:
        faces = [f for f in stack(Frame(image)) if f.landmarks is not None]
        if not faces:
            raise FacepaintError("no face found in the portrait (try a picture where the face is at "
                                 "least ~60 px and turned less than ~45 degrees)")
        return max(faces, key=lambda f: f.size)

    def conceal(self, image: np.ndarray, face: Face) -> None:
        """Nothing to hide: the output is the portrait, never the driving picture's pixels (a driver
        found late must not put a mosaic on the portrait where the driver's face was)."""

    def end(self, track_id: int) -> None:
        if track_id == self.driver_track:
            self.driver_track = None  # the next face that appears drives, from where this one left

    def render(self, frame: Frame, faces: list[Face]) -> np.ndarray:
        driver = self._driver(frame, faces)
        if driver is None:
            target = self._last  # no driver in this frame: hold the last pose
            self.stats["held"] += 1
        else:
            target = self.retarget(driver.landmarks)
            self._last = target
            self._bared = bared_teeth(driver.blendshapes)
            self.stats["animated"] += 1
        return self.draw(target)

    def _driver(self, frame: Frame, faces: list[Face]) -> Face | None:
        usable = [f for f in faces if f.landmarks is not None]
        if frame.index < self.neutral_frame or not usable:
            return None
        current = [f for f in usable if f.track_id == self.driver_track]
        if current:
            return current[0]
        # The largest face drives. The neutral is its first face; a driver that comes back as a new
        # track (lost for a moment) keeps that neutral, so the portrait does not jump.
        face = max(usable, key=lambda f: f.size)
        if self.retarget.reference is None:
            self.retarget.set_reference(face.landmarks)
        self.driver_track = face.track_id
        return face

    def draw(self, target: np.ndarray) -> np.ndarray:
        """The portrait with its landmarks moved to ``target``."""
        out = self.warp(self.irises.clean, target)
        self.irises.draw(out, target)
        self.lids.draw(out, target)
        points = target[:, :2]
        # The lips part wider than the picture shows: what lies behind is drawn, never stretched lip.
        # A narrow gap is only shadow; from TEETH_FROM of the face height, teeth too (features.py).
        gap = self._lip_gap(target) - self._portrait_gap
        if gap > 0.012 * self._face_height:
            drawn = out.astype(np.float32)
            if gap > TEETH_FROM * self._face_height:
                draw_mouth_interior(drawn, points, self._light, out.shape[:2], enamel=self._enamel,
                                    corner_shade=0.55, bared=self._bared)
            else:
                mouth = polygon_mask(points[LIPS_INNER], out.shape[:2])
                import cv2

                mouth = cv2.GaussianBlur(mouth, (0, 0), 0.7)[..., None]
                drawn += mouth * (np.array([55, 22, 24], np.float32) * self._light - drawn)
            if self._grey:
                drawn[:] = (drawn @ LUMA)[..., None]
            out = np.clip(drawn + 0.5, 0, 255).astype(np.uint8)
        return out

    @staticmethod
    def _lip_gap(landmarks: np.ndarray) -> float:
        """Distance between the inner lips at their middle (landmarks 13 and 14)."""
        return float(np.linalg.norm(landmarks[13, :2] - landmarks[14, :2]))
