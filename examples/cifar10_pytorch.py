#!/usr/bin/env python3
"""Trains a CNN on CIFAR-10 and records it with the CNNSlicer probe, one run epoch by epoch.

    python3 examples/cifar10_pytorch.py --data ~/data/cifar-10-batches-bin --per-class 500 --epochs 20 --out runs/cifar10

Data: the standard binary distribution of CIFAR-10 (``cifar-10-binary.tar.gz``, unpacked: the
folder ``cifar-10-batches-bin``), which no package ships, so ``--data`` is required. It holds
``data_batch_1.bin`` … ``data_batch_5.bin`` (the 50,000 training images), ``test_batch.bin`` (the
10,000 test images) and ``batches.meta.txt`` (the class names, one a line). Each batch is 10,000
records of 3,073 bytes: the label (0–9), then the 32×32 image as 1,024 red, 1,024 green and 1,024
blue bytes, rows top to bottom. A file of another size, a truncated one or a label outside 0–9 is
refused with an error naming the file (see ``read_cifar_batch``).

Training set: ``--per-class`` images of each class (up to 5,000, or ``all``), stratified and
seeded. Probe set: ``--probe`` test images, the same number per class (seeded). Images are
normalised per channel with the usual CIFAR-10 mean and standard deviation (``CIFAR_MEAN``,
``CIFAR_STD``).

Architecture: ``CifarCNN``, in the spirit of the paper's Fig. 3(A) (Shen & Shen do not give the
exact network): three blocks of 3×3 convolutions (32, 32 | 64, 64 | 128 filters, padding 1), each
with ReLUs and a 2×2 max-pool, then linear 2048 → 256 → 10. The probe records 16 layers (every
conv, ReLU, pool and linear module; ``flatten`` only repeats its input), so the paper's case
studies, which index layers up to 11 and look at layer 3's 32 filters, have their counterparts:
layer 3 (1-based) is ``conv2`` with 32 filters, layer 11 is ``conv5`` with 128 channels. The
TensorFlow.js trainer builds the same network with the same layer names.

Every module is constructed inside ``cnnslicer.track_sources()``, so each layer links to its line
below. The extension's trainer (``python -m cnnslicer.train --dataset cifar10 --arch cifar``) loads
the class and the reader from this file. ``--device auto|cpu|cuda`` picks where it trains.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# Lets the example run from a checkout without installing the package, and reuse the MNIST
# example's sampling and evaluation helpers.
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import cnnslicer  # noqa: E402
from mnist_pytorch import evaluate, split_evenly, stratified  # noqa: E402

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
RECORD_BYTES = 1 + 3 * 32 * 32
# A standard batch file; the tests generate smaller ones and say so through `records`.
BATCH_RECORDS = 10000
# The standard names, for a folder without batches.meta.txt.
DEFAULT_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class CifarCNN(nn.Module):
    """A VGG-like CIFAR-10 CNN with 16 recorded layers (the paper's Fig. 3(A) in spirit)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.relu4 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.conv5 = nn.Conv2d(64, 128, 3, padding=1)
        self.relu5 = nn.ReLU()
        self.pool3 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(128 * 4 * 4, 256)
        self.relu6 = nn.ReLU()
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
        x = self.pool2(self.relu4(self.conv4(self.relu3(self.conv3(x)))))
        x = self.pool3(self.relu5(self.conv5(x)))
        return self.fc2(self.relu6(self.fc1(self.flatten(x))))


ARCHS = {"cifar": CifarCNN}


class CifarError(Exception):
    """A CIFAR-10 folder or file that is not what the format says; the message names the file."""


def read_cifar_batch(path: str, records: Optional[int] = BATCH_RECORDS) -> Tuple[np.ndarray, np.ndarray]:
    """One binary batch as (images uint8 (N, 3, 32, 32), labels int64 (N,)).

    ``records`` is the number of records the file must hold (10,000 in the standard
    distribution); ``None`` accepts any whole number of records. Size is checked before anything
    is parsed, so a truncated download is reported as such rather than as garbage images.
    """
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise CifarError(f"{path}: cannot read the CIFAR-10 batch ({err.strerror or err})") from err
    if size % RECORD_BYTES != 0:
        whole, rest = divmod(size, RECORD_BYTES)
        raise CifarError(
            f"{path}: {size:,} bytes is not a whole number of {RECORD_BYTES}-byte CIFAR-10 records "
            f"({whole:,} records and {rest:,} bytes more): the file is truncated or not a CIFAR-10 binary batch"
        )
    count = size // RECORD_BYTES
    if records is not None and count != records:
        raise CifarError(
            f"{path}: {count:,} records ({size:,} bytes), expected {records:,} ({records * RECORD_BYTES:,} bytes): "
            "the file is truncated or not a CIFAR-10 binary batch"
        )
    if count == 0:
        raise CifarError(f"{path}: the file is empty")
    data = np.fromfile(path, dtype=np.uint8)
    if data.size != size:
        raise CifarError(f"{path}: read {data.size:,} of {size:,} bytes; the file changed while it was read")
    data = data.reshape(count, RECORD_BYTES)
    labels = data[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels > 9)
    if bad.size > 0:
        raise CifarError(f"{path}: record {int(bad[0])} has label {int(labels[bad[0]])}, outside 0-9: not a CIFAR-10 binary batch")
    return data[:, 1:].reshape(count, 3, 32, 32), labels


def read_classes(folder: str) -> List[str]:
    """The class names of batches.meta.txt (one a line, blank lines ignored), or the standard ones when it is absent."""
    path = os.path.join(folder, META_FILE)
    if not os.path.isfile(path):
        return list(DEFAULT_CLASSES)
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        names = [line.strip() for line in f if line.strip() != ""]
    if len(names) != 10:
        raise CifarError(f"{path}: {len(names)} class names, expected 10 (one a line)")
    return names


def check_folder(folder: Optional[str]) -> str:
    if folder is None or folder == "":
        raise CifarError("CIFAR-10 needs --data: the folder of the binary batches (cifar-10-batches-bin)")
    if not os.path.isdir(folder):
        raise CifarError(f"{folder}: not a folder; --data must be the folder of the CIFAR-10 binary batches (cifar-10-batches-bin)")
    missing = [f for f in (*TRAIN_FILES, TEST_FILE) if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise CifarError(f"{folder}: not a CIFAR-10 binary folder, {', '.join(missing)} missing (the cifar-10-binary.tar.gz distribution has them)")
    return folder


def load_cifar(folder: Optional[str], records: Optional[int] = BATCH_RECORDS) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, List[str]]:
    """(train images, train labels, test images, test labels, class names) of a CIFAR-10 binary folder."""
    folder = check_folder(folder)
    parts = [read_cifar_batch(os.path.join(folder, f), records) for f in TRAIN_FILES]
    test_images, test_labels = read_cifar_batch(os.path.join(folder, TEST_FILE), records)
    train_images = np.concatenate([p[0] for p in parts])
    train_labels = np.concatenate([p[1] for p in parts])
    return train_images, train_labels, test_images, test_labels, read_classes(folder)


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 3, 32, 32) -> float32, per channel (x / 255 - mean) / std."""
    mean = np.asarray(CIFAR_MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(CIFAR_STD, dtype=np.float32).reshape(1, 3, 1, 1)
    return ((images.astype(np.float32) / np.float32(255.0) - mean) / std).astype(np.float32)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder of the CIFAR-10 binary batches (cifar-10-batches-bin)")
    p.add_argument("--per-class", default="500", help="training images per class, up to 5000, or all (default 500)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs after epoch 0 (default 20)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--probe", type=int, default=1000, help="probe set size, test images split evenly over the classes (default 1000)")
    p.add_argument("--store", choices=("activations", "checkpoint", "both"), default="checkpoint")
    p.add_argument("--out", default=os.path.join("runs", "cifar10"), help="run folder (default runs/cifar10)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = p.parse_args(argv)
    if args.per_class != "all" and not (args.per_class.isdigit() and 1 <= int(args.per_class) <= 5000):
        p.error("--per-class must be 1 to 5000, or all")
    if args.epochs < 0 or args.batch_size < 1 or args.probe < 1 or args.probe > 10000 or args.lr <= 0:
        p.error("--epochs must be >= 0, --batch-size >= 1, --probe 1 to 10000, --lr > 0")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    torch.manual_seed(args.seed)
    try:
        train_images, train_labels, test_images, test_labels, classes = load_cifar(args.data)
    except CifarError as err:
        raise SystemExit(str(err))
    rng = np.random.default_rng(args.seed)
    train_idx = np.arange(len(train_labels)) if args.per_class == "all" else stratified(train_labels, [int(args.per_class)] * 10, rng)
    probe_idx = stratified(test_labels, split_evenly(args.probe, 10), np.random.default_rng([args.seed, 1]))
    x_train = torch.from_numpy(normalise(train_images[train_idx])).to(device)
    y_train = torch.from_numpy(train_labels[train_idx]).to(device)
    x_test = torch.from_numpy(normalise(test_images)).to(device)
    y_test = torch.from_numpy(test_labels).to(device)

    with cnnslicer.track_sources():
        model = CifarCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    print(f"CIFAR-10: {len(x_train)} training images, probe {len(probe_idx)}, {sum(p.numel() for p in model.parameters()):,} parameters, device {device}")
    loss0, acc0 = evaluate(model, x_train, y_train)
    probe = cnnslicer.Probe(
        model,
        normalise(test_images[probe_idx]),
        test_labels[probe_idx],
        args.out,
        store=args.store,
        classes=classes,
        record_initial=True,
        initial_metrics={"loss": loss0, "accuracy": acc0},
        name="CIFAR-10 CNN",
        probe_description=f"CIFAR-10 test set: {len(probe_idx)} images (seed {args.seed}), normalised per channel with mean {CIFAR_MEAN} and std {CIFAR_STD}",
        overwrite=args.overwrite,
    )
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator).to(device)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            batch = order[i : i + args.batch_size]
            optimizer.zero_grad()
            logits = model(x_train[batch])
            loss = F.cross_entropy(logits, y_train[batch])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(1) == y_train[batch]).sum().item())
        test_loss, test_acc = evaluate(model, x_test, y_test)
        probe.epoch_end(epoch, loss=loss_sum / len(order), accuracy=correct / len(order), test_loss=test_loss, test_accuracy=test_acc)
        print(f"epoch {epoch:2d}  loss {loss_sum / len(order):.4f}  acc {correct / len(order):7.2%}  test acc {test_acc:7.2%}  {time.perf_counter() - started:.1f}s", flush=True)
    probe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
