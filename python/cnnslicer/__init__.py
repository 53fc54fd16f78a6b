"""CNNSlicer's Python side: writes runs (docs/run-format.md) that the VS Code extension analyses.

Only numpy is needed here. Framework integrations (the PyTorch probe) live in their own modules
so that importing this package never imports torch.
"""

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
    "__version__",
]
