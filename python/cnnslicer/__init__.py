"""CNNSlicer's Python side: writes runs (docs/run-format.md) that the VS Code extension analyses.

Only numpy is needed here. The PyTorch integration (``Probe``, ``track_sources``) is loaded on
first use, so ``import cnnslicer`` works, and the run writer and reader can be used, without torch.
"""

from typing import Any

from .runformat import RunWriter, load_activations, read_manifest, read_run
from .safetensors_np import RunFormatError, read_safetensors, write_safetensors

__version__ = "0.1.0"

__all__ = [
    "RunWriter",
    "RunFormatError",
    "read_run",
    "read_manifest",
    "load_activations",
    "write_safetensors",
    "read_safetensors",
    "Probe",
    "track_sources",
    "layer_kind",
    "__version__",
]

# name -> submodule that defines it; importing that submodule may import torch.
_LAZY = {"Probe": "probe", "layer_kind": "probe", "track_sources": "sources"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnslicer' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
