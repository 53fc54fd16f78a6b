"""Reading and writing safetensors files with numpy alone.

The run format (docs/run-format.md) stores every tensor as safetensors. This module implements
the file layout itself rather than depending on the ``safetensors`` package, so that a training
script only needs numpy to write a run, and so that the reader applies exactly the checks the
spec lists (the same ones the TypeScript engine applies) before trusting a file.
"""

from __future__ import annotations

import json
import os
import sys
from typing import BinaryIO, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

# Spec limit: a header longer than this is treated as corruption rather than read into memory.
MAX_HEADER_BYTES = 100_000_000

TEMP_SUFFIX = ".tmp"

# numpy dtype -> safetensors dtype name. Byte order is normalised to little-endian on write.
_NP_TO_ST: Dict[np.dtype, str] = {
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.uint8): "U8",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint16): "U16",
    np.dtype(np.int16): "I16",
    np.dtype(np.float16): "F16",
    np.dtype(np.uint32): "U32",
    np.dtype(np.int32): "I32",
    np.dtype(np.float32): "F32",
    np.dtype(np.uint64): "U64",
    np.dtype(np.int64): "I64",
    np.dtype(np.float64): "F64",
}

# safetensors dtype name -> (little-endian numpy dtype of the stored bytes, element size).
# BF16 has no numpy dtype: it is read as its raw uint16 bits and widened to float32 below.
_ST_TO_NP: Dict[str, Tuple[np.dtype, int]] = {
    "BOOL": (np.dtype("?"), 1),
    "U8": (np.dtype("u1"), 1),
    "I8": (np.dtype("i1"), 1),
    "U16": (np.dtype("<u2"), 2),
    "I16": (np.dtype("<i2"), 2),
    "F16": (np.dtype("<f2"), 2),
    "BF16": (np.dtype("<u2"), 2),
    "U32": (np.dtype("<u4"), 4),
    "I32": (np.dtype("<i4"), 4),
    "F32": (np.dtype("<f4"), 4),
    "U64": (np.dtype("<u8"), 8),
    "I64": (np.dtype("<i8"), 8),
    "F64": (np.dtype("<f8"), 8),
}

DTYPE_SIZES: Dict[str, int] = {name: size for name, (_, size) in _ST_TO_NP.items()}


class RunFormatError(Exception):
    """A file of a run is malformed, or a writer was given input the format cannot hold.

    ``file`` is the path the error concerns (or None), ``code`` one of the engine's error codes
    (``corrupt``, ``invalid-manifest``, ``unsupported-version``, ``path-escape``, ``not-found``,
    ``bad-request``) so that messages read the same from Python and from the extension.
    """

    def __init__(self, file: Optional[PathLike], message: str, code: str = "corrupt") -> None:
        self.file = os.fspath(file) if file is not None else None
        self.message = message
        self.code = code
        super().__init__(f"{self.file}: {message}" if self.file is not None else message)


# Shown in tracebacks as cnnslicer.RunFormatError, the name users import it by.
RunFormatError.__module__ = "cnnslicer"


def safetensors_dtype(dtype: np.dtype) -> str:
    """The safetensors name of a numpy dtype, e.g. ``F16`` for float16."""
    key = np.dtype(dtype).newbyteorder("=")
    try:
        return _NP_TO_ST[key]
    except KeyError:
        raise RunFormatError(None, f"dtype {np.dtype(dtype)} cannot be stored in safetensors", "bad-request") from None


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable. Not every platform can open a directory (Windows cannot),
    # and a rename that is atomic but not yet durable is still consistent for readers.
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Writes ``path`` through ``<path>.tmp``, fsyncs it and renames it into place.

    A reader looking at the folder meanwhile sees the old file, no file, or the whole new one,
    never a prefix; on failure the temporary file is removed and the old file is left alone.
    """
    final = os.fspath(path)
    tmp = final + TEMP_SUFFIX
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(final)))


def _as_little_endian(name: str, array: np.ndarray, path: PathLike) -> np.ndarray:
    if isinstance(array, np.generic):
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise RunFormatError(path, f"tensor {name!r} is a {type(array).__name__}, not a numpy array", "bad-request")
    if array.dtype.newbyteorder("=") not in _NP_TO_ST:
        raise RunFormatError(path, f"tensor {name!r} has dtype {array.dtype}, which safetensors cannot store", "bad-request")
    target = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
    # asarray keeps 0-d arrays 0-d, where ascontiguousarray would make them 1-d.
    return np.asarray(array, dtype=target, order="C")


def encode_safetensors_header(
    tensors: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None, path: PathLike = "<memory>"
) -> Tuple[bytes, List[np.ndarray]]:
    """The header bytes (length prefix and padding included) and the little-endian arrays, in order."""
    header: Dict[str, object] = {}
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise RunFormatError(path, f"metadata must map strings to strings, got {k!r}: {v!r}", "bad-request")
        header["__metadata__"] = dict(metadata)
    arrays: List[np.ndarray] = []
    offset = 0
    for name, array in tensors.items():
        if not isinstance(name, str) or name == "":
            raise RunFormatError(path, f"tensor names must be non-empty strings, got {name!r}", "bad-request")
        if name == "__metadata__":
            raise RunFormatError(path, "'__metadata__' is reserved and cannot name a tensor", "bad-request")
        le = _as_little_endian(name, array, path)
        header[name] = {
            "dtype": safetensors_dtype(le.dtype),
            "shape": [int(d) for d in le.shape],
            "data_offsets": [offset, offset + le.nbytes],
        }
        offset += le.nbytes
        arrays.append(le)
    body = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # Pads with spaces (valid JSON whitespace) so the data starts 8-byte aligned, which lets
    # readers view it as typed arrays without copying.
    body += b" " * (-len(body) % 8)
    return len(body).to_bytes(8, "little") + body, arrays


def write_safetensors(
    path: PathLike, tensors: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None
) -> None:
    """Writes ``tensors`` (in their mapping order) to ``path`` atomically, as standard safetensors."""
    head, arrays = encode_safetensors_header(tensors, metadata, path)

    def write(f: BinaryIO) -> None:
        f.write(head)
        for a in arrays:
            if a.size:
                # The byte view of a C-contiguous array writes its data without another copy.
                f.write(a.reshape(-1).view(np.uint8).data)

    atomic_write(path, write)


def _object_no_duplicates(path: PathLike) -> Callable[[List[Tuple[str, object]]], Dict[str, object]]:
    def hook(pairs: List[Tuple[str, object]]) -> Dict[str, object]:
        out: Dict[str, object] = {}
        for k, v in pairs:
            if k in out:
                # Two entries with one name would make which tensor a reader sees arbitrary.
                raise RunFormatError(path, f"header names {k!r} twice")
            out[k] = v
        return out

    return hook


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class SafetensorsEntry:
    """One tensor's header entry: dtype name, shape and absolute byte range in the file."""

    __slots__ = ("name", "dtype", "shape", "begin", "end")

    def __init__(self, name: str, dtype: str, shape: Tuple[int, ...], begin: int, end: int) -> None:
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end

    def __repr__(self) -> str:
        return f"SafetensorsEntry({self.name!r}, {self.dtype}, {list(self.shape)}, [{self.begin}, {self.end}])"


def read_safetensors_header(path: PathLike) -> Tuple[Dict[str, SafetensorsEntry], Dict[str, str]]:
    """Validates ``path`` as the spec requires and returns its entries (in file order) and metadata.

    Entry offsets are absolute file positions. Raises RunFormatError (code ``corrupt``, or
    ``not-found``) naming the file on any failed check.
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                raise RunFormatError(p, f"file is {size} bytes, shorter than the 8-byte header length")
            n = int.from_bytes(f.read(8), "little")
            if n > MAX_HEADER_BYTES:
                raise RunFormatError(p, f"header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes")
            if n > size - 8:
                raise RunFormatError(p, f"header length {n} exceeds the {size - 8} bytes after the length field")
            raw = f.read(n)
    except FileNotFoundError:
        raise RunFormatError(p, "file not found", "not-found") from None
    if len(raw) != n:
        raise RunFormatError(p, "file shrank while its header was read")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_object_no_duplicates(p))
    except RunFormatError:
        raise
    except (UnicodeDecodeError, ValueError) as e:
        raise RunFormatError(p, f"header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise RunFormatError(p, "header is not a JSON object")

    metadata: Dict[str, str] = {}
    entries: List[SafetensorsEntry] = []
    data_start = 8 + n
    for name, spec in header.items():
        if name == "__metadata__":
            if not isinstance(spec, dict) or not all(isinstance(v, str) for v in spec.values()):
                raise RunFormatError(p, "__metadata__ must map strings to strings")
            metadata = dict(spec)
            continue
        if not isinstance(spec, dict):
            raise RunFormatError(p, f"tensor {name!r}: entry is not an object")
        unexpected = set(spec) - {"dtype", "shape", "data_offsets"}
        if unexpected:
            # The engine's reader refuses these too; accepting them here would let the two disagree.
            raise RunFormatError(p, f"tensor {name!r}: unexpected fields {sorted(unexpected)}")
        dtype = spec.get("dtype")
        shape = spec.get("shape")
        offsets = spec.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise RunFormatError(p, f"tensor {name!r}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise RunFormatError(p, f"tensor {name!r}: shape must be a list of non-negative integers, got {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise RunFormatError(p, f"tensor {name!r}: data_offsets must be [begin, end] with 0 <= begin <= end, got {offsets!r}")
        count = 1
        for d in shape:
            count *= d
        # Python integers are unbounded, so a huge shape cannot overflow into a plausible size.
        expected = count * DTYPE_SIZES[dtype]
        if offsets[1] - offsets[0] != expected:
            raise RunFormatError(
                p, f"tensor {name!r}: {offsets[1] - offsets[0]} bytes for shape {shape} of {dtype}, expected {expected}"
            )
        entries.append(SafetensorsEntry(name, dtype, tuple(shape), data_start + offsets[0], data_start + offsets[1]))

    pos = data_start
    for entry in sorted(entries, key=lambda t: (t.begin, t.end)):
        if entry.begin != pos:
            what = "a gap" if entry.begin > pos else "an overlap"
            raise RunFormatError(
                p, f"tensor {entry.name!r}: {what} before its data (starts at {entry.begin - data_start}, expected {pos - data_start})"
            )
        pos = entry.end
    if pos != size:
        raise RunFormatError(p, f"the tensors end at byte {pos} but the file has {size} bytes")
    return {entry.name: entry for entry in entries}, metadata


def _to_numpy(entry: SafetensorsEntry, data: bytearray) -> np.ndarray:
    np_dtype = _ST_TO_NP[entry.dtype][0]
    array = np.frombuffer(data, dtype=np_dtype).reshape(entry.shape)
    if entry.dtype == "BF16":
        # bfloat16 is the upper half of a float32, so widening is exact.
        return (array.astype(np.uint32) << 16).view(np.float32)
    if sys.byteorder != "little" and np_dtype.itemsize > 1:
        return array.astype(np_dtype.newbyteorder("="))
    return array


def read_safetensors(
    path: PathLike, names: Optional[Iterable[str]] = None
) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Reads a safetensors file after validating it; returns (tensors in file order, metadata).

    ``names`` limits which tensors are loaded; asking for one the file lacks raises RunFormatError
    (code ``bad-request``). Arrays are writable and own their memory. BF16 tensors come back
    widened to float32, as numpy has no bfloat16.
    """
    entries, metadata = read_safetensors_header(path)
    p = os.fspath(path)
    if names is None:
        wanted = list(entries.values())
    else:
        wanted = []
        for name in names:
            if name not in entries:
                raise RunFormatError(p, f"no tensor named {name!r} (it has {', '.join(entries) or 'none'})", "bad-request")
            wanted.append(entries[name])
    out: Dict[str, np.ndarray] = {}
    with open(p, "rb") as f:
        for e in wanted:
            f.seek(e.begin)
            data = bytearray(e.end - e.begin)
            got = f.readinto(data)
            if got != len(data):
                raise RunFormatError(p, f"tensor {e.name!r}: file shrank while it was read")
            out[e.name] = _to_numpy(e, data)
    return out, metadata
