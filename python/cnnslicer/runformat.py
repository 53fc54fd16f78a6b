"""Writing and reading CNNSlicer runs (docs/run-format.md is the normative spec).

A run is a folder holding ``cnnslicer.json`` (the manifest), ``probe.safetensors`` and one folder
per finished epoch. ``RunWriter`` keeps the ordering rules of the spec: every file goes through
``<name>.tmp`` and a rename, an epoch's files are complete before the manifest names the epoch,
and the manifest only ever grows by whole epochs, so the extension may read the run at any moment
while training is still going.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from datetime import datetime, timezone
from functools import partial
from typing import Any, BinaryIO, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from .safetensors_np import PathLike, RunFormatError, atomic_write, read_safetensors, write_safetensors

__all__ = [
    "RunFormatError",
    "RunWriter",
    "read_run",
    "load_activations",
    "read_manifest",
    "resolve_run_path",
    "path_problem",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "LAYER_KINDS",
    "stored_probe_inputs",
]

FORMAT_NAME = "cnnslicer-run"
FORMAT_VERSION = 1
MANIFEST_FILE = "cnnslicer.json"
PROBE_FILE = "probe.safetensors"
LOGITS_NAME = "logits"
PROBE_INPUTS_NAME = "inputs"
PROBE_LABELS_NAME = "labels"
# "block" (the output of a composite module such as a ResNet BasicBlock) is a value added within
# version 1: older readers refuse such a layer with an error naming the kind, nothing else changed.
LAYER_KINDS = ("conv", "pool", "norm", "activation", "linear", "flatten", "dropout", "block", "other")
# Names a layer may not take: the engine uses them for the probe input and the model output.
RESERVED_LAYER_NAMES = ("input", LOGITS_NAME)
DTYPES = ("float16", "float32")
_ST_DTYPE = {"float16": "F16", "float32": "F32"}


def epoch_dir(epoch: int) -> str:
    """The folder of an epoch relative to the run, as the project's writers name it."""
    return f"epochs/epoch-{epoch:04d}"


def _bad(message: str, file: Optional[PathLike] = None) -> RunFormatError:
    return RunFormatError(file, message, "bad-request")


# The engine handles outputs of one sample with 1 to 4 dimensions ([F], [C, L], [C, H, W], [C, D, H, W]);
# refusing others here keeps a writer from producing a run the extension would reject.
MAX_SAMPLE_DIMS = 4


def _shape(value: Any, what: str) -> List[int]:
    try:
        dims = list(value)
    except TypeError:
        raise _bad(f"{what} must be a list of integers >= 1, got {value!r}") from None
    if not 1 <= len(dims) <= MAX_SAMPLE_DIMS:
        raise _bad(f"{what} must have 1 to {MAX_SAMPLE_DIMS} dimensions, got {value!r}")
    out: List[int] = []
    for d in dims:
        # numpy integers are fine (shapes often come from array.shape), bools and floats are not.
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or int(d) < 1:
            raise _bad(f"{what} must be a list of integers >= 1, got {value!r}")
        out.append(int(d))
    return out


def _layer(raw: Mapping[str, Any], index: int) -> Dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise _bad(f"layers[{index}] must be a dict with name, kind and shape, got {raw!r}")
    unknown = set(raw) - {"name", "kind", "shape", "op", "source"}
    if unknown:
        raise _bad(f"layers[{index}] has unknown keys {sorted(unknown)} (allowed: name, kind, shape, op, source)")
    name = raw.get("name")
    if not isinstance(name, str) or name == "":
        raise _bad(f"layers[{index}].name must be a non-empty string, got {name!r}")
    if name in RESERVED_LAYER_NAMES:
        raise _bad(f"layer name {name!r} is reserved")
    kind = raw.get("kind")
    if kind not in LAYER_KINDS:
        raise _bad(f"layer {name!r}: kind must be one of {', '.join(LAYER_KINDS)}, got {kind!r}")
    layer: Dict[str, Any] = {"name": name, "kind": kind, "shape": _shape(raw.get("shape"), f"layer {name!r}: shape")}
    if raw.get("op") is not None:
        if not isinstance(raw["op"], str):
            raise _bad(f"layer {name!r}: op must be a string, got {raw['op']!r}")
        layer["op"] = raw["op"]
    source = raw.get("source")
    if source is not None:
        file = source.get("file") if isinstance(source, Mapping) else None
        line = source.get("line") if isinstance(source, Mapping) else None
        if not isinstance(file, str) or isinstance(line, bool) or not isinstance(line, (int, np.integer)) or int(line) < 1:
            raise _bad(f"layer {name!r}: source must be {{'file': str, 'line': int >= 1}}, got {source!r}")
        layer["source"] = {"file": file, "line": int(line)}
    return layer


def stored_probe_inputs(inputs: np.ndarray, probe_dtype: str) -> np.ndarray:
    """The probe inputs as the probe file stores them: float32, or float16 for ``probe_dtype='float16'``."""
    if probe_dtype not in DTYPES:
        raise _bad(f"probe_dtype must be 'float16' or 'float32', got {probe_dtype!r}")
    if probe_dtype == "float32":
        return inputs.astype(np.float32, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        narrowed = inputs.astype(np.float16)
    # An input that becomes ±inf in float16 is not the sample the user chose.
    overflow = np.isinf(narrowed) & ~np.isinf(inputs)
    if overflow.any():
        raise _bad(
            f"probe_inputs hold values beyond float16's range (largest magnitude {float(np.abs(inputs[overflow]).max())}); use probe_dtype='float32'"
        )
    return narrowed


def _metric(name: Any, value: Any) -> Optional[float]:
    if not isinstance(name, str) or name == "":
        raise _bad(f"metric names must be non-empty strings, got {name!r}")
    if value is None:
        return None
    if isinstance(value, (str, bytes, bool)):
        raise _bad(f"metric {name!r} must be a number, got {value!r}")
    try:
        # float() also takes numpy scalars and 0-d torch tensors, which is what training loops hold.
        v = float(value)
    except (TypeError, ValueError):
        raise _bad(f"metric {name!r} must be a number, got {value!r}") from None
    # JSON has no NaN or Infinity; the spec writes a value that was not finite as null.
    return v if math.isfinite(v) else None


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_json(path: str, value: Any) -> None:
    data = (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    atomic_write(path, lambda f: f.write(data))


def _copy_into(src: str, dest: str) -> None:
    def write(f: BinaryIO) -> None:
        with open(src, "rb") as s:
            shutil.copyfileobj(s, f, 1 << 20)

    atomic_write(dest, write)


class RunWriter:
    """Writes one run, epoch by epoch.

    The constructor creates the folder, the probe file and a manifest with no epochs, so the run
    shows up in the extension as soon as training starts. Each ``write_epoch`` writes that epoch's
    files and then the manifest naming them; ``finish`` marks the run complete. Used as a context
    manager, the run is finished when the block ends without an exception (a run left unfinished
    still reads back up to its last written epoch).

    ``probe_dtype='float16'`` stores the probe inputs at half the size (the engine widens them
    exactly); the model should then be fed the float16-rounded inputs too, as the Probe does, so
    that recorded activations and checkpoint recomputation see the same samples.
    """

    def __init__(
        self,
        run_dir: PathLike,
        *,
        layers: Sequence[Mapping[str, Any]],
        classes: Sequence[str],
        probe_inputs: Any,
        probe_labels: Any,
        model_name: Optional[str] = None,
        framework: Optional[str] = "pytorch",
        name: Optional[str] = None,
        probe_description: Optional[str] = None,
        overwrite: bool = False,
        probe_dtype: str = "float32",
    ) -> None:
        self.run_dir = os.path.abspath(os.fspath(run_dir))
        manifest_path = os.path.join(self.run_dir, MANIFEST_FILE)

        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) == 0:
            raise _bad("layers must be a non-empty list of dicts")
        self.layers = [_layer(raw, i) for i, raw in enumerate(layers)]
        seen: Dict[str, int] = {}
        for i, layer in enumerate(self.layers):
            if layer["name"] in seen:
                raise _bad(f"layer name {layer['name']!r} is used by layers[{seen[layer['name']]}] and layers[{i}]")
            seen[layer["name"]] = i

        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence) or len(classes) == 0:
            raise _bad("classes must be a non-empty list of strings")
        if not all(isinstance(c, str) for c in classes):
            raise _bad(f"classes must be strings, got {list(classes)!r}")
        self.classes = list(classes)

        inputs = np.asarray(probe_inputs)
        if inputs.ndim < 2 or inputs.shape[0] < 1:
            raise _bad(f"probe_inputs must have shape (N, ...) with N >= 1, got {inputs.shape}")
        _shape(inputs.shape[1:], "the shape of one probe input")
        if not (np.issubdtype(inputs.dtype, np.floating) or np.issubdtype(inputs.dtype, np.integer) or inputs.dtype == np.bool_):
            raise _bad(f"probe_inputs must be numeric, got dtype {inputs.dtype}")
        stored_inputs = stored_probe_inputs(inputs, probe_dtype)
        self.probe_dtype = probe_dtype
        self.count = int(inputs.shape[0])
        labels = np.asarray(probe_labels)
        if labels.shape != (self.count,):
            raise _bad(f"probe_labels must have shape ({self.count},) to match probe_inputs, got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise _bad(f"probe_labels must be integers, got dtype {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise _bad(f"probe_labels must lie in 0..{len(self.classes) - 1} (one per class), got {labels.min()}..{labels.max()}")

        if os.path.exists(manifest_path):
            if not overwrite:
                raise RunFormatError(
                    manifest_path, "a run already exists here; choose another folder or pass overwrite=True", "bad-request"
                )
            # The manifest goes first, so a reader stops seeing a run before its files disappear.
            os.remove(manifest_path)
            for leftover in (PROBE_FILE, "epochs"):
                target = os.path.join(self.run_dir, leftover)
                if os.path.isdir(target):
                    shutil.rmtree(target)
                elif os.path.exists(target):
                    os.remove(target)
        os.makedirs(self.run_dir, exist_ok=True)

        model: Dict[str, str] = {}
        if model_name is not None:
            model["name"] = str(model_name)
        if framework is not None:
            model["framework"] = str(framework)
        probe: Dict[str, Any] = {"file": PROBE_FILE, "count": self.count, "inputShape": [int(d) for d in inputs.shape[1:]]}
        if probe_description is not None:
            probe["description"] = str(probe_description)
        self.manifest: Dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        if name is not None:
            self.manifest["name"] = str(name)
        self.manifest.update(
            {
                "createdAt": _now_iso(),
                "model": model,
                "layers": self.layers,
                "classes": self.classes,
                "probe": probe,
                "epochs": [],
                "complete": False,
            }
        )
        self._finished = False

        write_safetensors(
            os.path.join(self.run_dir, PROBE_FILE),
            {
                PROBE_INPUTS_NAME: stored_inputs,
                PROBE_LABELS_NAME: labels.astype(np.int64, copy=False),
            },
        )
        self._write_manifest()

    @property
    def manifest_path(self) -> str:
        return os.path.join(self.run_dir, MANIFEST_FILE)

    @property
    def last_epoch(self) -> Optional[int]:
        epochs = self.manifest["epochs"]
        return epochs[-1]["epoch"] if epochs else None

    def _write_manifest(self) -> None:
        _write_json(self.manifest_path, self.manifest)

    def _check_activations(
        self, activations: Optional[Mapping[str, Any]], logits: Any, file: str
    ) -> Dict[str, np.ndarray]:
        given: Dict[str, Any] = dict(activations or {})
        if logits is not None:
            if LOGITS_NAME in given:
                raise _bad("logits were passed both as logits= and inside activations", file)
            given[LOGITS_NAME] = logits
        names = [layer["name"] for layer in self.layers] + [LOGITS_NAME]
        missing = [n for n in names if n not in given]
        extra = [n for n in given if n not in names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(repr(n) for n in missing)}")
            if extra:
                parts.append(f"not recorded layers of this run: {', '.join(repr(str(n)) for n in extra)}")
            raise _bad(
                f"an activations file holds every recorded layer plus 'logits' ({'; '.join(parts)})", file
            )
        expected = {layer["name"]: (self.count, *layer["shape"]) for layer in self.layers}
        expected[LOGITS_NAME] = (self.count, len(self.classes))
        out: Dict[str, np.ndarray] = {}
        for n in names:
            # np.asarray also takes CPU torch tensors and lists; the caller is expected to detach.
            a = np.asarray(given[n])
            if tuple(a.shape) != expected[n]:
                raise _bad(f"{n!r} has shape {list(a.shape)}, expected {list(expected[n])} (N={self.count} probe samples)", file)
            if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
                raise _bad(f"{n!r} must be numeric, got dtype {a.dtype}", file)
            out[n] = a
        return out

    def write_epoch(
        self,
        epoch: int,
        *,
        metrics: Mapping[str, Any],
        activations: Optional[Mapping[str, Any]] = None,
        logits: Any = None,
        dtype: str = "float16",
        checkpoint: Union[bytes, bytearray, memoryview, PathLike, None] = None,
    ) -> Dict[str, Any]:
        """Writes one finished epoch and appends it to the manifest; returns the manifest entry.

        ``activations`` maps every recorded layer to its (N, *shape) outputs on the probe set and
        ``logits`` is (N, classes); both are cast to ``dtype``. ``checkpoint`` is ONNX bytes or the
        path of an .onnx file to copy. At least one of activations and checkpoint is required.
        """
        if self._finished:
            raise _bad("the run is finished; no more epochs can be written", self.manifest_path)
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or int(epoch) < 0:
            raise _bad(f"epoch must be an integer >= 0, got {epoch!r}")
        epoch = int(epoch)
        if self.last_epoch is not None and epoch <= self.last_epoch:
            raise _bad(f"epochs must strictly increase: epoch {epoch} after epoch {self.last_epoch}", self.manifest_path)
        if dtype not in DTYPES:
            raise _bad(f"dtype must be 'float16' or 'float32', got {dtype!r}")
        if not isinstance(metrics, Mapping):
            raise _bad(f"metrics must be a dict of name -> number, got {type(metrics).__name__}")
        entry_metrics = {k: _metric(k, v) for k, v in metrics.items()}

        folder = epoch_dir(epoch)
        has_activations = activations is not None or logits is not None
        if not has_activations and checkpoint is None:
            raise _bad(f"epoch {epoch}: give activations (with logits), a checkpoint, or both")
        arrays: Optional[Dict[str, np.ndarray]] = None
        acts_rel = f"{folder}/activations.safetensors"
        if has_activations:
            arrays = self._check_activations(activations, logits, os.path.join(self.run_dir, acts_rel))
        ckpt_src: Optional[str] = None
        ckpt_bytes: Optional[bytes] = None
        if isinstance(checkpoint, (bytes, bytearray, memoryview)):
            ckpt_bytes = bytes(checkpoint)
        elif checkpoint is not None:
            ckpt_src = os.fspath(checkpoint)
            if not os.path.isfile(ckpt_src):
                raise RunFormatError(ckpt_src, "checkpoint file not found", "not-found")

        # Everything is validated: only now touch the disk, so a refused call leaves no trace.
        os.makedirs(os.path.join(self.run_dir, folder), exist_ok=True)
        entry: Dict[str, Any] = {"epoch": epoch, "metrics": entry_metrics}
        if arrays is not None:
            np_dtype = np.float16 if dtype == "float16" else np.float32
            # Values beyond float16's range become ±inf, which the format stores as it is.
            with np.errstate(over="ignore", invalid="ignore"):
                cast = {n: a.astype(np_dtype, copy=False) for n, a in arrays.items()}
            write_safetensors(
                os.path.join(self.run_dir, acts_rel), cast, {"format": FORMAT_NAME, "epoch": str(epoch)}
            )
            entry["activations"] = acts_rel
            entry["dtype"] = dtype
        if ckpt_bytes is not None or ckpt_src is not None:
            ckpt_rel = f"{folder}/model.onnx"
            dest = os.path.join(self.run_dir, ckpt_rel)
            if ckpt_bytes is not None:
                data = ckpt_bytes
                atomic_write(dest, lambda f: f.write(data))
            else:
                assert ckpt_src is not None
                _copy_into(ckpt_src, dest)
            entry["checkpoint"] = ckpt_rel

        self.manifest["epochs"].append(entry)
        try:
            self._write_manifest()
        except BaseException:
            # Keeps the in-memory manifest equal to the one on disk, so a retry is possible.
            self.manifest["epochs"].pop()
            raise
        return entry

    def finish(self) -> None:
        """Marks the run complete; the extension then stops expecting more epochs."""
        if self._finished:
            return
        self.manifest["complete"] = True
        self._write_manifest()
        self._finished = True

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()


_DRIVE = re.compile(r"^[A-Za-z]:")


def path_problem(rel: str) -> Optional[str]:
    """Why a manifest path is refused on its face (before looking at the disk), or None."""
    if rel == "":
        return "is empty"
    if "\0" in rel:
        return "contains a NUL character"
    if "\\" in rel:
        return "contains a backslash (paths use '/')"
    if rel.startswith("/"):
        return "is absolute"
    if _DRIVE.match(rel):
        return "starts with a drive letter"
    segments = rel.split("/")
    if any(s == "" for s in segments):
        return "has an empty segment"
    if any(s == ".." for s in segments):
        return "contains '..'"
    return None


def resolve_run_path(run_dir: PathLike, rel: Any, what: str) -> str:
    """The absolute path of a manifest path, refusing (code ``path-escape``) any that leaves the run.

    Symbolic links are followed: a link inside the run that points outside it is refused too.
    """
    root = os.path.abspath(os.fspath(run_dir))
    manifest = os.path.join(root, MANIFEST_FILE)
    if not isinstance(rel, str):
        raise RunFormatError(manifest, f"{what} must be a relative path, got {rel!r}", "invalid-manifest")
    problem = path_problem(rel)
    if problem is not None:
        raise RunFormatError(manifest, f"{what} {rel!r} {problem}", "path-escape")
    full = os.path.join(root, *rel.split("/"))
    real_root = os.path.realpath(root)
    real = os.path.realpath(full)
    if not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise RunFormatError(manifest, f"{what} {rel!r} resolves to {real}, outside the run directory", "path-escape")
    return full


def _invalid(manifest: str, message: str) -> RunFormatError:
    return RunFormatError(manifest, message, "invalid-manifest")


def _check_path(m_path: str, value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise _invalid(m_path, f"{what} must be a relative path, got {value!r}")
    problem = path_problem(value)
    if problem is not None:
        raise RunFormatError(m_path, f"{what} {value!r} {problem}", "path-escape")


def _check_manifest(m: Any, path: str) -> Dict[str, Any]:
    if not isinstance(m, dict):
        raise _invalid(path, "the manifest is not a JSON object")
    if m.get("format") != FORMAT_NAME:
        raise _invalid(path, f"format must be {FORMAT_NAME!r}, got {m.get('format')!r}")
    version = m.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise RunFormatError(path, f"run format version {version!r} is not supported (this reader knows version {FORMAT_VERSION})", "unsupported-version")
    # model and metrics may be absent, as the engine's reader allows; when present they are objects.
    if not isinstance(m.setdefault("model", {}), dict):
        raise _invalid(path, "model must be an object")
    layers = m.get("layers")
    if not isinstance(layers, list) or not layers:
        raise _invalid(path, "layers must be a non-empty array")
    names = set()
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise _invalid(path, f"layers[{i}] is not an object")
        try:
            checked = _layer({k: layer[k] for k in ("name", "kind", "shape", "op", "source") if k in layer}, i)
        except RunFormatError as e:
            raise _invalid(path, e.message) from None
        if checked["name"] in names:
            raise _invalid(path, f"layer name {checked['name']!r} appears twice")
        names.add(checked["name"])
    classes = m.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise _invalid(path, "classes must be a non-empty array of strings")
    probe = m.get("probe")
    if not isinstance(probe, dict):
        raise _invalid(path, "probe must be an object")
    _check_path(path, probe.get("file"), "probe.file")
    count = probe.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise _invalid(path, f"probe.count must be an integer >= 1, got {count!r}")
    try:
        _shape(probe.get("inputShape"), "probe.inputShape")
    except RunFormatError as e:
        raise _invalid(path, e.message) from None
    epochs = m.get("epochs")
    if not isinstance(epochs, list):
        raise _invalid(path, "epochs must be an array")
    last = -1
    for i, entry in enumerate(epochs):
        if not isinstance(entry, dict):
            raise _invalid(path, f"epochs[{i}] is not an object")
        n = entry.get("epoch")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _invalid(path, f"epochs[{i}].epoch must be an integer >= 0, got {n!r}")
        if n <= last:
            raise _invalid(path, f"epochs must strictly increase: epoch {n} after epoch {last}")
        last = n
        metrics = entry.setdefault("metrics", {})
        if not isinstance(metrics, dict) or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in metrics.values()
        ):
            raise _invalid(path, f"epoch {n}: metrics must map names to numbers or null")
        if "activations" not in entry and "checkpoint" not in entry:
            raise _invalid(path, f"epoch {n} names neither activations nor a checkpoint")
        # Checked for every epoch up front, as the engine does, so a bad path is found on opening.
        for key in ("activations", "checkpoint"):
            if key in entry:
                _check_path(path, entry[key], f"epoch {n} {key}")
        if entry.get("dtype", "float32") not in DTYPES:
            raise _invalid(path, f"epoch {n}: dtype must be 'float16' or 'float32', got {entry.get('dtype')!r}")
    if "complete" in m and not isinstance(m["complete"], bool):
        raise _invalid(path, "complete must be a boolean")
    return m


def read_manifest(run_dir: PathLike) -> Dict[str, Any]:
    """The validated manifest of a run."""
    path = os.path.join(os.path.abspath(os.fspath(run_dir)), MANIFEST_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise RunFormatError(path, "not a run: the manifest is missing", "not-found") from None
    try:
        # The manifest never holds NaN or Infinity; accepting them would hide a writer's bug.
        m = json.loads(raw.decode("utf-8"), parse_constant=partial(_reject_constant, path))
    except RunFormatError:
        raise
    except (UnicodeDecodeError, ValueError) as e:
        raise RunFormatError(path, f"not valid JSON: {e}") from None
    return _check_manifest(m, path)


def _reject_constant(path: str, c: str) -> Any:
    raise _invalid(path, f"{c} is not JSON; non-finite numbers are written as null")


def _expect_tensor(file: str, name: str, array: np.ndarray, shape: Sequence[int], dtypes: Iterable[Any]) -> None:
    if tuple(array.shape) != tuple(shape):
        raise RunFormatError(file, f"tensor {name!r} has shape {list(array.shape)}, expected {list(shape)}")
    if not any(array.dtype == np.dtype(d) for d in dtypes):
        raise RunFormatError(file, f"tensor {name!r} has dtype {array.dtype}, expected {' or '.join(str(np.dtype(d)) for d in dtypes)}")


def load_activations(
    run_dir: PathLike, epoch: int, names: Optional[Iterable[str]] = None, manifest: Optional[Dict[str, Any]] = None
) -> Dict[str, np.ndarray]:
    """One epoch's activations (and logits), as stored: float16 stays float16.

    ``names`` limits the tensors read (layer names and/or 'logits'). Shapes and dtype are checked
    against the manifest.
    """
    m = manifest if manifest is not None else read_manifest(run_dir)
    root = os.path.abspath(os.fspath(run_dir))
    entry = next((e for e in m["epochs"] if e["epoch"] == epoch), None)
    if entry is None:
        listed = ", ".join(str(e["epoch"]) for e in m["epochs"]) or "none"
        raise RunFormatError(os.path.join(root, MANIFEST_FILE), f"the run has no epoch {epoch} (it has {listed})", "bad-request")
    if "activations" not in entry:
        raise RunFormatError(os.path.join(root, MANIFEST_FILE), f"epoch {epoch} has only a checkpoint, no activations file", "bad-request")
    path = resolve_run_path(root, entry["activations"], f"epoch {epoch} activations")
    n = m["probe"]["count"]
    shapes = {layer["name"]: [n, *layer["shape"]] for layer in m["layers"]}
    shapes[LOGITS_NAME] = [n, len(m["classes"])]
    wanted = list(names) if names is not None else list(shapes)
    for name in wanted:
        if name not in shapes:
            raise RunFormatError(path, f"{name!r} is not a recorded layer of this run", "bad-request")
    tensors, _ = read_safetensors(path, wanted)
    dtype = np.float16 if entry.get("dtype", "float32") == "float16" else np.float32
    for name in wanted:
        _expect_tensor(path, name, tensors[name], shapes[name], [dtype])
    return tensors


def read_run(run_dir: PathLike) -> Dict[str, Any]:
    """Opens a run: returns a dict with

    - ``dir``: the absolute run directory,
    - ``manifest``: the validated manifest (a dict with the spec's field names),
    - ``inputs`` and ``labels``: the probe set as stored (float32 or float16; int64 or int32),
    - ``load_activations(epoch, names=None)``: reads one epoch's activations file.
    """
    root = os.path.abspath(os.fspath(run_dir))
    m = read_manifest(root)
    probe_path = resolve_run_path(root, m["probe"].get("file"), "probe.file")
    tensors, _ = read_safetensors(probe_path)
    for required in (PROBE_INPUTS_NAME, PROBE_LABELS_NAME):
        if required not in tensors:
            raise RunFormatError(probe_path, f"the probe file has no {required!r} tensor")
    n = m["probe"]["count"]
    inputs = tensors[PROBE_INPUTS_NAME]
    labels = tensors[PROBE_LABELS_NAME]
    _expect_tensor(probe_path, PROBE_INPUTS_NAME, inputs, [n, *m["probe"]["inputShape"]], [np.float32, np.float16])
    _expect_tensor(probe_path, PROBE_LABELS_NAME, labels, [n], [np.int64, np.int32])
    if labels.size and (labels.min() < 0 or labels.max() >= len(m["classes"])):
        raise RunFormatError(probe_path, f"labels must lie in 0..{len(m['classes']) - 1}, got {labels.min()}..{labels.max()}")
    return {
        "dir": root,
        "manifest": m,
        "inputs": inputs,
        "labels": labels,
        "load_activations": partial(load_activations, root, manifest=m),
    }
