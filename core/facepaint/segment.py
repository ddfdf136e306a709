"""Who in the frame is a person: MediaPipe's selfie segmenter (people against background).

``PersonSegmenter(image)`` returns a soft mask (H, W) float32 in 0..1, 1 on people (hair, body,
clothes). The network sees the frame scaled to 256 x 144 (landscape frames) or 256 x 256 (others);
the mask is scaled back and, across a video, blended with the previous one where the two nearly
agree, so its edge does not crawl while a person who walks in, or a cut, shows at once. Used by
paint's ``region="person"``.

The model files are the Apache-2.0 weights from MediaPipe's 0.10 wheels (see
models/selfie_segmenter/CARD.md), run with ai-edge-litert: mediapipe 0.10 cannot share an
environment with the mediapipe 1.x this project uses, and 1.x no longer ships them.
"""

from __future__ import annotations

import numpy as np

from . import assets

FILES = {"landscape": "selfie_segmentation_landscape.tflite", "square": "selfie_segmentation.tflite"}


class PersonSegmenter:
    """``temporal``: weight of the previous frame's mask (0 = none; ``reset`` between shots)."""

    def __init__(self, temporal: float = 0.5):
        from ai_edge_litert.interpreter import Interpreter

        self.temporal = temporal
        self._nets = {}
        for name in ("landscape", "square"):
            net = Interpreter(model_path=str(assets.project_model(f"selfie_segmenter/{FILES[name]}")), num_threads=1)
            net.allocate_tensors()
            self._nets[name] = net
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        self._previous = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        import cv2

        h, w = image.shape[:2]
        net = self._nets["landscape" if w >= 1.4 * h else "square"]
        inp, out = net.get_input_details()[0], net.get_output_details()[0]
        size_h, size_w = int(inp["shape"][1]), int(inp["shape"][2])
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        small = cv2.resize(rgb[..., :3], (size_w, size_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        net.set_tensor(inp["index"], small[None])
        net.invoke()
        mask = np.clip(net.get_tensor(out["index"])[0, :, :, 0], 0.0, 1.0)
        if self._previous is not None and self._previous.shape == mask.shape and self.temporal > 0:
            # Steady the edge, not the content: where the mask changed by half or more (a person
            # walked in or out, a cut), the new one stands alone.
            keep = self.temporal * np.clip(1.0 - np.abs(mask - self._previous) / 0.5, 0.0, 1.0)
            mask = keep * self._previous + (1 - keep) * mask
        # The network's background is ~1e-30, not 0: blurred, such values become denormal floats,
        # and a blur over them took 13 ms instead of 1 (no pixel is changed by such a value).
        mask[mask < 1e-3] = 0.0
        self._previous = mask
        return cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
