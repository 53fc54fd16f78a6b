"""Attaching CNNSlicer to a PyTorch training loop.

``Probe`` records, at the end of every epoch, the outputs of a model's layers on a fixed probe
set (activations) and/or an ONNX checkpoint from which the engine recomputes them, and writes
them as a run (docs/run-format.md). docs/probe.md describes the behaviour in full.

This module imports torch; ``import cnnslicer`` does not import it until ``cnnslicer.Probe`` is
used.
"""

from __future__ import annotations

import inspect
import io
import itertools
import os
import warnings
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from .runformat import DTYPES, MAX_SAMPLE_DIMS, RESERVED_LAYER_NAMES, RunWriter, stored_probe_inputs
from .safetensors_np import PathLike
from .sources import layer_sources

__all__ = ["Probe", "layer_kind", "DEFAULT_KINDS", "GRANULARITIES", "DEFAULT_ACTIVATION_WARNING_BYTES"]

STORES = ("activations", "checkpoint", "both")
# Kinds recorded when no layer names are given: the ones whose outputs the paper's measures are
# about. Flatten and dropout (identity at evaluation) only repeat their input.
DEFAULT_KINDS = ("conv", "pool", "norm", "activation", "linear")
# What layers="leaves" | "blocks" | "all" records (docs/probe.md, "Which modules").
GRANULARITIES = ("leaves", "blocks", "all")
# Exactly these classes only group modules. Subclasses are not plain: torchvision's
# Conv2dNormActivation is an nn.Sequential, and it is one conv-norm-activation unit, a block.
PLAIN_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# Above this many bytes of activations per epoch the probe warns at construction: 256 MiB is
# already minutes of writing per epoch on a slow disk, while a checkpoint is usually far smaller.
DEFAULT_ACTIVATION_WARNING_BYTES = 256 * 2**20
MIN_OPSET = 13


def _classes_of(module: Any, exclude: Tuple[str, ...] = ()) -> Tuple[type, ...]:
    """The nn.Module classes a torch.nn.modules submodule defines, private bases included.

    Taken from the module's namespace rather than listed by hand so that every version of torch
    classifies its own layers (and user subclasses of them) without a table to maintain.
    """
    out = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == module.__name__ and value.__name__ not in exclude:
            out.append(value)
    return tuple(out)


def _kind_table() -> List[Tuple[str, Tuple[type, ...]]]:
    m = nn.modules
    return [
        ("conv", _classes_of(m.conv)),
        ("pool", _classes_of(m.pooling)),
        ("norm", _classes_of(m.batchnorm) + _classes_of(m.instancenorm) + _classes_of(m.normalization)),
        ("activation", _classes_of(m.activation, exclude=("MultiheadAttention",))),
        ("linear", _classes_of(m.linear, exclude=("Identity",))),
        ("flatten", (nn.Flatten,)),
        ("dropout", _classes_of(m.dropout)),
    ]


_KINDS: Optional[List[Tuple[str, Tuple[type, ...]]]] = None


def _is_block(module: nn.Module) -> bool:
    """A module with submodules whose class is not a plain container (a block, if outermost)."""
    return type(module) not in PLAIN_CONTAINERS and next(module.children(), None) is not None


def layer_kind(module: nn.Module) -> str:
    """The run format's kind of a module: conv, pool, norm, activation, linear, flatten, dropout, block or other.

    ``block`` is a module with submodules whose class is not exactly nn.Sequential, nn.ModuleList
    or nn.ModuleDict (a ResNet BasicBlock, torchvision's Conv2dNormActivation); a module of one
    of torch's own layer classes keeps that class's kind even when it has submodules.
    """
    global _KINDS
    if _KINDS is None:
        _KINDS = _kind_table()
    for kind, classes in _KINDS:
        if classes and isinstance(module, classes):
            return kind
    if _is_block(module):
        return "block"
    return "other"


def _leaves(all_modules: Mapping[str, nn.Module]) -> List[Tuple[str, nn.Module]]:
    """The default selection: every module of a recorded kind."""
    return [(n, m) for n, m in all_modules.items() if n != "" and layer_kind(m) in DEFAULT_KINDS]


def _blocks(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The outermost blocks, and the modules of a recorded kind that lie in no block.

    Plain containers are looked through, a block is not: for a torchvision ResNet this gives
    conv1, bn1, relu, layer1.0 … layer4.1, avgpool and fc.
    """
    out: List[Tuple[str, nn.Module]] = []
    # named_modules() lists a module shared by two parents once, under its first name; so does this.
    seen = {id(model)}

    def visit(parent: nn.Module, prefix: str) -> None:
        for child_name, child in parent.named_children():
            if id(child) in seen:
                continue
            seen.add(id(child))
            name = prefix + child_name
            if _is_block(child):
                out.append((name, child))
            elif type(child) in PLAIN_CONTAINERS:
                visit(child, name + ".")
            elif layer_kind(child) in DEFAULT_KINDS:
                out.append((name, child))

    visit(model, "")
    return out


class _Layer(NamedTuple):
    """One recorded layer: one call of one module in the forward pass."""

    name: str
    module_name: str
    module: nn.Module
    # 0-based: which of the module's calls in one forward pass.
    call: int


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _distributed_rank() -> int:
    # Looked up through the module each time (not imported by name) so that the state at the
    # moment of the call counts.
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return 0


def _model_device_dtype(model: nn.Module) -> Tuple[torch.device, torch.dtype]:
    device = torch.device("cpu")
    dtype = torch.float32
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    if first is not None:
        device = first.device
    floating = next((p for p in model.parameters() if p.is_floating_point()), None)
    if floating is not None:
        dtype = floating.dtype
    return device, dtype


def _as_numpy(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - whatever the object, the message names the argument
        raise ValueError(f"{what} must be a tensor or an array, got {type(value).__name__}: {e}") from None


class _Capture:
    """Forward hooks on the recorded modules that keep the output of every call of a forward pass."""

    def __init__(self, modules: Sequence[Tuple[str, nn.Module]], clone: Callable[[torch.Tensor], torch.Tensor]) -> None:
        # module name -> the outputs of its calls in the current pass, in call order.
        self.outputs: Dict[str, List[Any]] = {}
        # Completion order of every call in the current pass: (module name, call index) -> tick.
        self.order: Dict[Tuple[str, int], int] = {}
        self._tick = 0
        self._clone = clone
        # One hook per module, however many of its calls are recorded.
        self._handles = [m.register_forward_hook(self._hook(name)) for name, m in dict(modules).items()]

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            calls = self.outputs.setdefault(name, [])
            self._tick += 1
            self.order[(name, len(calls))] = self._tick
            # A copy, because a later in-place op (ReLU(inplace=True)) would change the tensor.
            calls.append(self._clone(output) if isinstance(output, torch.Tensor) else output)

        return hook

    def calls(self, name: str) -> int:
        return len(self.outputs.get(name, ()))

    def check_calls(self, expected: Mapping[str, int], where: str) -> None:
        """Each layer is one call, so every pass must call each module as often as the first did."""
        for name, count in expected.items():
            got = self.calls(name)
            if got != count:
                raise RuntimeError(
                    f"module {name!r} ran {got} time(s) {where}, but {count} time(s) in the first probe batch; "
                    "the probe records each call as a layer, so every forward pass must make the same calls"
                )

    def reset(self) -> None:
        self.outputs.clear()
        self.order.clear()
        self._tick = 0

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


class _Outputs(nn.Module):
    """The model, returning the recorded layers' outputs and then its own output: what is exported.

    A module called several times contributes one output per recorded call, in the order of the
    layers, so the graph outputs line up with the layer names (``relu#1``, ``relu#2``).
    """

    def __init__(self, model: nn.Module, layers: Sequence[_Layer], calls: Mapping[str, int]) -> None:
        super().__init__()
        self.model = model
        self._layers = list(layers)
        self._calls = dict(calls)
        self._modules_hooked = [(layer.module_name, layer.module) for layer in self._layers]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        capture = _Capture(self._modules_hooked, lambda t: t.clone())
        try:
            y = self.model(x)
        finally:
            capture.remove()
        capture.check_calls(self._calls, "while exporting the checkpoint")
        return tuple(capture.outputs[layer.module_name][layer.call] for layer in self._layers) + (y,)


class _Modes:
    """Saves every submodule's training flag and restores it exactly.

    ``model.train(previous)`` would not do: a user may keep some modules in eval mode (frozen
    batch norm) inside a model that is training.
    """

    def __init__(self, model: nn.Module) -> None:
        self._flags = [(m, m.training) for m in model.modules()]

    def restore(self) -> None:
        for m, flag in self._flags:
            m.training = flag


class Probe:
    """Records a model's layers on a fixed probe set at the end of every epoch, as a CNNSlicer run.

    ``probe = Probe(model, probe_inputs, probe_labels, "runs/mnist")`` then, after each epoch,
    ``probe.epoch_end(epoch, loss=..., accuracy=...)``. See docs/probe.md.

    - ``layers``: ``named_modules`` names to record, or ``"leaves"`` (the default, also
      ``None``: every conv, pooling, normalisation, activation and linear module), ``"blocks"``
      (the outermost blocks and the leaves outside every block) or ``"all"`` (both). Recorded in
      forward order whatever the order given; a module called several times per forward pass
      gives one layer per call, ``<name>#1``, ``<name>#2``, ….
    - ``store``: ``"activations"`` (the outputs, in ``dtype``), ``"checkpoint"`` (an ONNX model the
      engine runs on the probe set on demand) or ``"both"``.
    - ``classes``: class names; ``"0"``, ``"1"``, … when absent.
    - ``record_initial``: write epoch 0, the model as it is now (untrained), at construction.
    - ``probe_dtype``: how the probe inputs are stored; with ``"float16"`` the model is fed the
      float16-rounded inputs, so activations and checkpoints agree with what is stored.
    - ``source_root``: source files inside this folder are recorded relative to it (portable
      runs); others by absolute path.
    - ``batch_size``: probe samples per forward pass.
    - ``activation_warning_bytes``: warn at construction when the activations of one epoch
      would take more than this (default 256 MiB); ``None`` never warns.

    Under ``torch.distributed`` only rank 0 writes; on other ranks every method does nothing.
    """

    def __init__(
        self,
        model: nn.Module,
        probe_inputs: Any,
        probe_labels: Any,
        run_dir: PathLike,
        layers: Union[None, str, Sequence[str]] = None,
        store: str = "activations",
        dtype: str = "float16",
        classes: Optional[Sequence[str]] = None,
        record_initial: bool = False,
        name: Optional[str] = None,
        *,
        probe_dtype: str = "float32",
        batch_size: int = 256,
        source_root: Optional[PathLike] = None,
        initial_metrics: Optional[Mapping[str, Any]] = None,
        probe_description: Optional[str] = None,
        model_name: Optional[str] = None,
        overwrite: bool = False,
        opset: int = MIN_OPSET,
        activation_warning_bytes: Optional[int] = DEFAULT_ACTIVATION_WARNING_BYTES,
    ) -> None:
        self.active = _distributed_rank() == 0
        self.writer: Optional[RunWriter] = None
        self.layers: List[Dict[str, Any]] = []
        self.classes: List[str] = []
        if not self.active:
            return

        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            # The wrapper's forward synchronises across processes, which would hang when only
            # rank 0 runs the probe; its module is the model itself, named without "module.".
            model = model.module
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if store not in STORES:
            raise ValueError(f"store must be one of {', '.join(repr(s) for s in STORES)}, got {store!r}")
        if dtype not in DTYPES or probe_dtype not in DTYPES:
            raise ValueError(f"dtype and probe_dtype must be 'float16' or 'float32', got {dtype!r} and {probe_dtype!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
            raise ValueError(f"opset must be an integer >= {MIN_OPSET}, got {opset!r}")
        if activation_warning_bytes is not None and (
            isinstance(activation_warning_bytes, bool) or not isinstance(activation_warning_bytes, int) or activation_warning_bytes < 0
        ):
            raise ValueError(f"activation_warning_bytes must be a non-negative integer or None, got {activation_warning_bytes!r}")
        granularity: Optional[str] = None
        if layers is None:
            granularity = "leaves"
        elif isinstance(layers, str):
            if layers not in GRANULARITIES:
                raise ValueError(f"layers must be one of {', '.join(repr(g) for g in GRANULARITIES)} or a list of module names, got {layers!r}")
            granularity = layers
        self.model = model
        self.store = store
        self.dtype = dtype
        self.batch_size = batch_size
        self.opset = opset

        inputs = _as_numpy(probe_inputs, "probe_inputs")
        if inputs.ndim < 2 or inputs.shape[0] < 1 or not np.issubdtype(inputs.dtype, np.number):
            raise ValueError(f"probe_inputs must be a numeric (N, ...) array with N >= 1, got shape {inputs.shape}, dtype {inputs.dtype}")
        stored = stored_probe_inputs(inputs, probe_dtype)
        labels = _as_numpy(probe_labels, "probe_labels")
        # The model sees exactly what the run stores, so the engine's recomputation from the
        # probe file reproduces the recorded activations.
        self._inputs = torch.from_numpy(np.ascontiguousarray(stored.astype(np.float32)))
        self.count = int(inputs.shape[0])

        all_modules = dict(model.named_modules())
        if granularity is None:
            assert layers is not None and not isinstance(layers, str)
            candidates = self._named(all_modules, layers)
        else:
            candidates = []
            if granularity in ("leaves", "all"):
                candidates += _leaves(all_modules)
            if granularity in ("blocks", "all"):
                # A leaf outside every block is in both selections; it is recorded once.
                chosen = {n for n, _ in candidates}
                candidates += [(n, m) for n, m in _blocks(model) if n not in chosen]
        if not candidates:
            raise ValueError(f"{type(model).__name__} has no conv, pooling, normalisation, activation or linear module to record; name modules with layers=")

        recorded, logits_width = self._structure(candidates, explicit=granularity is None)
        if classes is None:
            classes = [str(i) for i in range(logits_width)]
        elif isinstance(classes, (str, bytes)) or len(classes) != logits_width:
            raise ValueError(f"classes must list {logits_width} names, one per column of the model's output; got {classes!r}")
        self.classes = [str(c) for c in classes]

        module_names = list(dict.fromkeys(layer.module_name for layer in recorded))
        sources = layer_sources(model, module_names, os.fspath(source_root) if source_root is not None else None)
        for r in recorded:
            # Every call of a module has the module's kind, op and construction line.
            layer: Dict[str, Any] = {"name": r.name, "kind": layer_kind(r.module), "shape": self._shapes[r.name], "op": type(r.module).__name__}
            if r.module_name in sources:
                layer["source"] = sources[r.module_name]
            self.layers.append(layer)
        self._recorded = recorded
        self._hooked = [(name, all_modules[name]) for name in module_names]
        if store != "checkpoint":
            self._warn_size(activation_warning_bytes, stacklevel=2)

        first_checkpoint: Optional[bytes] = None
        if store != "activations":
            _, param_dtype = _model_device_dtype(model)
            if param_dtype != torch.float32:
                raise ValueError(f"checkpoints need a float32 model (the engine feeds float32 inputs); this one is {param_dtype}")
            # Exported now so that a model the exporter cannot handle fails here, not after an epoch.
            first_checkpoint = self._export()

        self.writer = RunWriter(
            run_dir,
            layers=self.layers,
            classes=self.classes,
            probe_inputs=stored,
            probe_labels=labels,
            model_name=model_name if model_name is not None else type(model).__name__,
            framework="pytorch",
            name=name,
            probe_description=probe_description,
            overwrite=overwrite,
            probe_dtype=probe_dtype,
        )
        if record_initial:
            self._write(0, dict(initial_metrics or {}), first_checkpoint)

    @property
    def run_dir(self) -> Optional[str]:
        return self.writer.run_dir if self.writer is not None else None

    # --- Layers and their shapes --------------------------------------------------------------

    @staticmethod
    def _named(all_modules: Mapping[str, nn.Module], layers: Sequence[str]) -> List[Tuple[str, nn.Module]]:
        if isinstance(layers, (str, bytes)) or not all(isinstance(n, str) for n in layers):
            raise ValueError(f"layers must be 'leaves', 'blocks', 'all' or a list of module names (as named_modules() gives them), got {layers!r}")
        unknown = [n for n in layers if n not in all_modules or n == ""]
        if unknown:
            known = [n for n in all_modules if n != ""]
            shown = ", ".join(known[:30]) + (", …" if len(known) > 30 else "")
            raise ValueError(f"unknown layer name(s) {', '.join(repr(n) for n in unknown)}; the model's modules are: {shown}")
        reserved = [n for n in layers if n in RESERVED_LAYER_NAMES]
        if reserved:
            raise ValueError(f"layer name(s) {', '.join(repr(n) for n in reserved)} are reserved by the run format (input, logits)")
        repeated = sorted({n for n in layers if list(layers).count(n) > 1})
        if repeated:
            raise ValueError(f"layer name(s) {', '.join(repr(n) for n in repeated)} are given more than once")
        return [(n, all_modules[n]) for n in layers]

    @staticmethod
    def _output_problem(out: Any, n: int) -> Optional[str]:
        """Why a module's output cannot be a layer, or None when it can."""
        if not isinstance(out, torch.Tensor):
            return f"returned a {type(out).__name__}, not a tensor"
        if out.dim() < 2 or out.shape[0] != n:
            return f"returned shape {list(out.shape)}, which has no batch dimension of {n}"
        if not 1 <= out.dim() - 1 <= MAX_SAMPLE_DIMS:
            return f"returned {out.dim() - 1} dimensions per sample; the run format holds 1 to {MAX_SAMPLE_DIMS}"
        if any(d < 1 for d in out.shape[1:]):
            return f"returned an empty shape {list(out.shape)}"
        return None

    def _structure(self, candidates: List[Tuple[str, nn.Module]], explicit: bool) -> Tuple[List[_Layer], int]:
        """Runs the first probe batch to learn the layers (one per call), their shapes, the forward order and the number of classes."""
        n = min(self.count, self.batch_size)
        capture, y = self._forward_batch(candidates, 0, n)
        try:
            if not isinstance(y, torch.Tensor) or y.dim() != 2 or y.shape[0] != n:
                got = f"shape {list(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
                raise ValueError(f"the model's output must be a logits tensor of shape (batch, classes); for a batch of {n} it gave {got}")
            self._shapes: Dict[str, List[int]] = {}
            # module name -> calls per forward pass, each of them a layer.
            self._calls: Dict[str, int] = {}
            kept: List[_Layer] = []
            for name, module in candidates:
                problem = None
                outs = capture.outputs.get(name, [])
                if not outs:
                    problem = "did not run in the forward pass"
                elif name in RESERVED_LAYER_NAMES:
                    problem = "has a name the run format reserves"
                else:
                    for k, out in enumerate(outs):
                        problem = self._output_problem(out, n)
                        if problem is not None:
                            problem += f" in its call {k + 1} of {len(outs)}" if len(outs) > 1 else ""
                            break
                if problem is not None:
                    if explicit:
                        raise ValueError(f"layer {name!r} ({type(module).__name__}) {problem}")
                    warnings.warn(f"cnnslicer: not recording {name!r} ({type(module).__name__}): it {problem}", RuntimeWarning, stacklevel=3)
                    continue
                self._calls[name] = len(outs)
                for k, out in enumerate(outs):
                    # Names that start with the module's name, so views group and filter them with it.
                    layer_name = name if len(outs) == 1 else f"{name}#{k + 1}"
                    if layer_name in self._shapes:
                        raise ValueError(f"two layers would be named {layer_name!r}: a module of that name, and a call of a module that runs several times per forward pass; rename the module")
                    self._shapes[layer_name] = [int(d) for d in out.shape[1:]]
                    kept.append(_Layer(layer_name, name, module, k))
            if not kept:
                raise ValueError("none of the modules to record produced a tensor in the forward pass")
            kept.sort(key=lambda layer: capture.order[(layer.module_name, layer.call)])
            return kept, int(y.shape[1])
        finally:
            capture.remove()

    def _warn_size(self, threshold: Optional[int], stacklevel: int) -> None:
        """Warns when one epoch of activations would exceed ``threshold`` bytes."""
        if threshold is None:
            return
        itemsize = 2 if self.dtype == "float16" else 4
        per_sample = sum(int(np.prod(shape)) for shape in self._shapes.values()) + len(self.classes)
        estimate = self.count * per_sample * itemsize
        if estimate <= threshold:
            return
        weights = sum(t.numel() * t.element_size() for t in itertools.chain(self.model.parameters(), self.model.buffers()))
        warnings.warn(
            f'cnnslicer: store="{self.store}" writes about {_format_bytes(estimate)} of activations per epoch '
            f"({estimate:,} bytes = {self.count} probe samples x {per_sample:,} {self.dtype} values, for {len(self._shapes)} layers and the logits), "
            f"more than activation_warning_bytes={threshold} ({_format_bytes(threshold)}). "
            f'store="checkpoint" writes an ONNX checkpoint instead (about {_format_bytes(weights)} for this model), '
            "from which the engine recomputes the activations when they are viewed; fewer layers (layers=) or a smaller probe set also help",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )

    def _forward_batch(self, modules: Sequence[Tuple[str, nn.Module]], start: int, end: int) -> Tuple[_Capture, Any]:
        """One probe batch through the model in eval mode without gradients, modes restored after."""
        device, dtype = _model_device_dtype(self.model)
        modes = _Modes(self.model)
        capture = _Capture(modules, lambda t: t.detach().clone())
        try:
            self.model.eval()
            with torch.no_grad():
                y = self.model(self._inputs[start:end].to(device=device, dtype=dtype))
        except BaseException:
            capture.remove()
            raise
        finally:
            modes.restore()
        return capture, y

    # --- Recording ------------------------------------------------------------------------------

    def _activations(self) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
        np_dtype = np.float16 if self.dtype == "float16" else np.float32
        out = {layer.name: np.empty((self.count, *self._shapes[layer.name]), dtype=np_dtype) for layer in self._recorded}
        logits = np.empty((self.count, len(self.classes)), dtype=np_dtype)
        device, dtype = _model_device_dtype(self.model)
        modes = _Modes(self.model)
        capture = _Capture(self._hooked, lambda t: t.detach().clone())
        try:
            self.model.eval()
            with torch.no_grad(), np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, self.count, self.batch_size):
                    end = min(start + self.batch_size, self.count)
                    capture.reset()
                    y = self.model(self._inputs[start:end].to(device=device, dtype=dtype))
                    capture.check_calls(self._calls, f"for probe samples {start}..{end - 1}")
                    for layer in self._recorded:
                        name = layer.name
                        t = capture.outputs[layer.module_name][layer.call]
                        expected = (end - start, *self._shapes[name])
                        if not isinstance(t, torch.Tensor) or tuple(t.shape) != expected:
                            got = list(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                            raise RuntimeError(f"layer {name!r} gave {got} for probe samples {start}..{end - 1}, expected {list(expected)} as in the first probe batch")
                        out[name][start:end] = t.float().cpu().numpy()
                    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (end - start, len(self.classes)):
                        raise RuntimeError(f"the model's output for probe samples {start}..{end - 1} is not a ({end - start}, {len(self.classes)}) logits tensor")
                    logits[start:end] = y.detach().float().cpu().numpy()
        finally:
            capture.remove()
            modes.restore()
        return out, logits

    def _export(self) -> bytes:
        """The model as ONNX, its graph outputs the recorded layers (named as them) and logits."""
        names = [layer.name for layer in self._recorded]
        wrapper = _Outputs(self.model, self._recorded, self._calls)
        device, dtype = _model_device_dtype(self.model)
        # Two samples rather than one, so nothing size-1 gets specialised while tracing.
        example = self._inputs[: min(self.count, 2)].to(device=device, dtype=dtype)
        buffer = io.BytesIO()
        kwargs: Dict[str, Any] = {}
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            # The names and dynamic axes below are the TorchScript exporter's contract.
            kwargs["dynamo"] = False
        modes = _Modes(self.model)
        try:
            wrapper.eval()
            with torch.no_grad(), warnings.catch_warnings():
                # Tracer warnings about Python control flow are about the user's model, not
                # actionable here, and would repeat every epoch.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    wrapper,
                    (example,),
                    buffer,
                    opset_version=self.opset,
                    input_names=["input"],
                    output_names=[*names, "logits"],
                    dynamic_axes={n: {0: "batch"} for n in ["input", *names, "logits"]},
                    do_constant_folding=True,
                    training=torch.onnx.TrainingMode.EVAL,
                    **kwargs,
                )
        finally:
            # The exporter restores the wrapper's own mode recursively, which is not the model's.
            modes.restore()
        return buffer.getvalue()

    def _write(self, epoch: int, metrics: Dict[str, Any], checkpoint: Optional[bytes] = None) -> Dict[str, Any]:
        assert self.writer is not None
        activations: Optional[Dict[str, np.ndarray]] = None
        logits: Optional[np.ndarray] = None
        if self.store != "checkpoint":
            activations, logits = self._activations()
        if self.store != "activations" and checkpoint is None:
            checkpoint = self._export()
        return self.writer.write_epoch(
            epoch, metrics=metrics, activations=activations, logits=logits, dtype=self.dtype, checkpoint=checkpoint
        )

    def epoch_end(self, epoch: int, loss: Any = None, accuracy: Any = None, **metrics: Any) -> Optional[Dict[str, Any]]:
        """Records the model as it is now as ``epoch`` with these metrics; returns the manifest entry.

        ``loss`` and ``accuracy`` (a fraction in [0, 1]) are left out when None; other keyword
        arguments are further metrics. Non-finite values are written as null. Epochs must
        strictly increase (epoch 0 is taken by ``record_initial``).
        """
        if not self.active:
            return None
        named: Dict[str, Any] = {}
        if loss is not None:
            named["loss"] = loss
        if accuracy is not None:
            named["accuracy"] = accuracy
        named.update(metrics)
        return self._write(epoch, named)

    def close(self) -> None:
        """Marks the run complete: the extension stops expecting more epochs."""
        if self.writer is not None:
            self.writer.finish()

    def __enter__(self) -> "Probe":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
