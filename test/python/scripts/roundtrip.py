"""Python half of test/python/roundtrip.test.ts. Subcommands:

  write-run RUN DUMP       reads a JSON config on stdin, writes a run with cnnslicer.RunWriter and
                           dumps every stored tensor's bytes (and numpy's float32 widening) to DUMP
  inspect-run RUN SOURCES  reads RUN with cnnslicer.read_run and prints, as JSON, the manifest and
                           the sha256 of every tensor; SOURCES holds the float32 values the
                           TypeScript writer was given, which are narrowed here with numpy to
                           check its float16 encoder against numpy's
  bad-input CASE RUN       makes one call RunWriter must refuse; the error is left uncaught so the
                           test sees the traceback and the exit status
  read-safetensors PATH    prints the tensors of PATH, or the RunFormatError reading it raised
  to-float16 IN OUT        narrows the little-endian float32 values in IN with numpy, into OUT
  read-run RUN             opens RUN with read_run and loads every epoch's activations; prints
                           what it loaded, or the RunFormatError it raised
"""

import hashlib
import json
import math
import os
import sys

import numpy as np

from cnnslicer import RunFormatError, RunWriter, read_run, read_safetensors

NUMBER_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def number(v):
    return NUMBER_WORDS[v] if isinstance(v, str) else v


# Values whose float16/float32 encodings are edge cases: signed zeros, infinities, NaN, the float16
# subnormal range, its largest finite value and values that overflow or underflow it.
SPECIAL_VALUES = [
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    0.0,
    2.0**-24,  # smallest float16 subnormal
    -(2.0**-24),
    2.0**-14 - 2.0**-24,  # largest float16 subnormal
    3 * 2.0**-24,
    2.0**-14,  # smallest float16 normal
    65504.0,  # largest float16
    -65504.0,
    65520.0,  # rounds to +inf in float16
    1e-9,  # underflows to zero in float16
    1.0 + 2.0**-11,  # a tie in float16, rounds to even (1.0)
    1.0 + 3 * 2.0**-11,
]
# Only representable in float32; in a float16 epoch they become 0 or inf like any value would.
FLOAT32_ONLY = [2.0**-149, -1e-40, 3.4028234663852886e38]


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def write_run(run_dir, dump_dir):
    cfg = json.load(sys.stdin)
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n"]
    inputs = rng.standard_normal((n, *cfg["inputShape"]))
    labels = (np.arange(n) % len(cfg["classes"])).astype(np.int32)
    writer = RunWriter(
        run_dir,
        layers=cfg["layers"],
        classes=cfg["classes"],
        probe_inputs=inputs,
        probe_labels=labels,
        model_name=cfg["modelName"],
        framework="numpy",
        name=cfg["name"],
        probe_description="seeded normal noise",
    )
    os.makedirs(os.path.join(dump_dir, "probe"), exist_ok=True)
    with open(os.path.join(dump_dir, "probe", "inputs.raw"), "wb") as f:
        f.write(inputs.astype(np.float32).tobytes())
    with open(os.path.join(dump_dir, "probe", "labels.raw"), "wb") as f:
        f.write(labels.astype(np.int64).tobytes())

    shapes = {layer["name"]: layer["shape"] for layer in cfg["layers"]}
    shapes["logits"] = [len(cfg["classes"])]
    for e in cfg["epochs"]:
        np_dtype = np.float16 if e["dtype"] == "float16" else np.float32
        specials = SPECIAL_VALUES + (FLOAT32_ONLY if e["dtype"] == "float32" else [])
        tensors = {}
        for name, shape in shapes.items():
            a = rng.standard_normal((n, *shape)) * 10.0 ** rng.integers(-6, 4, size=(n, *shape))
            flat = a.reshape(-1)
            # Scattered rather than at the start, so they land in different samples and channels.
            where = rng.choice(flat.size, size=len(specials), replace=False)
            flat[where] = specials
            tensors[name] = a
        logits = tensors.pop("logits")
        writer.write_epoch(e["epoch"], metrics={k: number(v) for k, v in e["metrics"].items()}, activations=tensors, logits=logits, dtype=e["dtype"])
        tensors["logits"] = logits
        out = os.path.join(dump_dir, str(e["epoch"]))
        os.makedirs(out, exist_ok=True)
        with np.errstate(over="ignore"):
            for name, a in tensors.items():
                stored = a.astype(np_dtype)
                with open(os.path.join(out, name + ".raw"), "wb") as f:
                    f.write(stored.tobytes())
                with open(os.path.join(out, name + ".f32"), "wb") as f:
                    f.write(stored.astype(np.float32).tobytes())
    writer.finish()


def inspect_run(run_dir, sources_dir):
    run = read_run(run_dir)
    m = run["manifest"]
    out = {
        "numpy": np.__version__,
        "manifest": m,
        "probe": {
            name: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": sha(a)}
            for name, a in (("inputs", run["inputs"]), ("labels", run["labels"]))
        },
        "epochs": {},
    }
    for entry in m["epochs"]:
        tensors = run["load_activations"](entry["epoch"])
        report = {}
        for name, a in tensors.items():
            info = {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": sha(a)}
            src = os.path.join(sources_dir, str(entry["epoch"]), name + ".f32")
            if os.path.exists(src):
                values = np.fromfile(src, dtype="<f4").reshape(a.shape)
                with np.errstate(over="ignore"):
                    numpy_stored = values.astype(a.dtype)
                info["numpySha256"] = sha(numpy_stored)
                # Where numpy and the TypeScript encoder disagree, the first few cases say how.
                view = np.uint16 if a.dtype == np.float16 else np.uint32
                diff = np.nonzero(numpy_stored.view(view).reshape(-1) != a.view(view).reshape(-1))[0]
                info["mismatches"] = [
                    {
                        "index": int(i),
                        "float32Bits": f"{values.view(np.uint32).reshape(-1)[i]:08x}",
                        "numpy": f"{numpy_stored.view(view).reshape(-1)[i]:x}",
                        "file": f"{a.view(view).reshape(-1)[i]:x}",
                    }
                    for i in diff[:10]
                ]
            report[name] = info
        out["epochs"][str(entry["epoch"])] = report
    json.dump(out, sys.stdout)


def bad_input(case, run_dir):
    layers = [
        {"name": "conv", "kind": "conv", "shape": [2, 3, 3]},
        {"name": "fc", "kind": "linear", "shape": [4]},
    ]
    n = 5
    writer = RunWriter(run_dir, layers=layers, classes=["a", "b"], probe_inputs=np.zeros((n, 1, 3, 3)), probe_labels=np.arange(n) % 2)
    good = {"conv": np.ones((n, 2, 3, 3)), "fc": np.ones((n, 4))}
    logits = np.zeros((n, 2))
    writer.write_epoch(0, metrics={"loss": 1.0}, activations=good, logits=logits)
    if case == "missing-layer":
        writer.write_epoch(1, metrics={}, activations={"conv": good["conv"]}, logits=logits)
    elif case == "extra-layer":
        writer.write_epoch(1, metrics={}, activations={**good, "head": np.ones((n, 4))}, logits=logits)
    elif case == "wrong-shape":
        writer.write_epoch(1, metrics={}, activations={**good, "conv": np.ones((n, 2, 3, 4))}, logits=logits)
    elif case == "wrong-logits":
        writer.write_epoch(1, metrics={}, activations=good, logits=np.zeros((n, 3)))
    elif case == "same-epoch":
        writer.write_epoch(0, metrics={}, activations=good, logits=logits)
    elif case == "bad-dtype":
        writer.write_epoch(1, metrics={}, activations=good, logits=logits, dtype="bfloat16")
    else:
        sys.exit(f"unknown case {case}")
    print("the writer accepted the bad input")


def read_safetensors_report(path):
    try:
        tensors, metadata = read_safetensors(path)
    except RunFormatError as e:
        json.dump({"ok": False, "file": e.file, "code": e.code, "message": e.message}, sys.stdout)
        return
    json.dump(
        {
            "ok": True,
            "metadata": metadata,
            "tensors": {name: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": sha(a)} for name, a in tensors.items()},
        },
        sys.stdout,
    )


def to_float16(src, dest):
    with np.errstate(over="ignore"):
        np.fromfile(src, dtype="<f4").astype("<f2").tofile(dest)


def read_run_report(run_dir):
    try:
        run = read_run(run_dir)
        loaded = {
            str(entry["epoch"]): sorted(run["load_activations"](entry["epoch"]))
            for entry in run["manifest"]["epochs"]
            if "activations" in entry
        }
    except RunFormatError as e:
        json.dump({"ok": False, "file": e.file, "code": e.code, "message": e.message}, sys.stdout)
        return
    json.dump({"ok": True, "loaded": loaded}, sys.stdout)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    commands = {
        "write-run": write_run,
        "inspect-run": inspect_run,
        "bad-input": bad_input,
        "read-safetensors": read_safetensors_report,
        "read-run": read_run_report,
        "to-float16": to_float16,
    }
    commands[cmd](*args)
