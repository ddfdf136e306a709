"""Modes are plug-ins of the engine: each redraws the faces of a frame its own way.

A mode subclasses :class:`Mode` and registers under a name::

    @register_mode("anonymize")
    class Anonymize(Mode): ...

and the engine creates it with ``create_mode(name, **options)``. Per-track state
(a synthetic identity, a style code) lives in the mode, keyed by track id; the
engine calls ``begin``/``end`` when tracks appear and disappear, and ``reset`` when the stream
starts over (``Engine.reset``: a cut, an unrelated picture).
"""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from ..errors import FacepaintError
from ..types import Face, Frame

_REGISTRY: dict[str, type["Mode"]] = {}
# Built-in modes register themselves when their module is imported; import them on first use so
# that listing or creating a mode never depends on import order.
_BUILTIN = {"anonymize": "facepaint.modes.anonymize", "paint": "facepaint.modes.paint",
            "animate": "facepaint.modes.animate"}


class Mode:
    name = "mode"
    # False: the mode changes pixels only where faces are (frames without faces pass bit-exact).
    alters_whole_frame = False

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the pictures ``render`` returns for frames of this size."""
        return width, height

    def begin(self, track_id: int) -> None:
        """A new track appeared."""

    def end(self, track_id: int) -> None:
        """A track ended; drop its state."""

    def reset(self) -> None:
        """The stream starts over (a scene cut, an unrelated picture): drop what the mode keeps from
        frame to frame beyond its tracks (the engine ends every track first)."""

    def render(self, frame: Frame, faces: list[Face]) -> np.ndarray:
        """Return the output picture (H x W x 3 uint8) for this frame."""
        raise NotImplementedError

    def conceal(self, image: np.ndarray, face: Face) -> None:
        """Hide ``face`` irreversibly in an already rendered ``image`` (late-found faces, see Engine)."""
        from ..hide import hide_face

        hide_face(image, face, "mosaic")

    def close(self) -> None:
        """Release models and files."""


def register_mode(name: str) -> Callable[[type[Mode]], type[Mode]]:
    def add(cls: type[Mode]) -> type[Mode]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return add


def _load_builtins() -> None:
    for module in _BUILTIN.values():
        importlib.import_module(module)


def available_modes() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def create_mode(name: str, **options) -> Mode:
    if name not in _REGISTRY and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    if name not in _REGISTRY:
        raise FacepaintError(f"unknown mode {name!r} (available: {', '.join(available_modes()) or 'none yet'})")
    return _REGISTRY[name](**options)
