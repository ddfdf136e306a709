"""One device setting for the whole engine: ``auto``, ``cpu`` or ``cuda``.

Torch modules take :func:`torch_device`; ONNX models take :func:`onnx_providers`.
Both come from the same user choice so a ``--device cuda`` run never silently
mixes in CPU-only stages, and ``auto`` uses a GPU exactly when torch sees one.
"""

from __future__ import annotations

from .errors import FacepaintError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> str:
    """Map a user choice to ``"cpu"`` or ``"cuda"``; error if CUDA was asked for but is absent."""
    if name not in DEVICE_CHOICES:
        raise FacepaintError(f"unknown device {name!r} (choose from {', '.join(DEVICE_CHOICES)})")
    if name == "cpu" or (name == "auto" and not _nvidia_device_present()):
        return "cpu"  # no NVIDIA device node: CUDA cannot be there, and importing torch costs ~1.3 s
    import torch

    has_cuda = torch.cuda.is_available()
    if name == "cuda" and not has_cuda:
        raise FacepaintError("--device cuda was asked for, but torch sees no CUDA GPU on this machine")
    if name == "auto":
        return "cuda" if has_cuda else "cpu"
    return name


def _nvidia_device_present() -> bool:
    import glob

    return bool(glob.glob("/dev/nvidia[0-9]*")) or bool(glob.glob("/dev/dxg"))  # Linux driver / WSL2


def torch_device(name: str):
    import torch

    return torch.device(resolve_device(name))


def onnx_providers(name: str) -> list[str]:
    """onnxruntime execution providers for a resolved device (CUDA only when the runtime has it)."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if resolve_device(name) == "cuda" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
