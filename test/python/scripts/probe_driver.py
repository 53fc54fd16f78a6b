"""Python half of test/python/probe.test.ts: `probe_driver.py OUT` trains probe_model.TinyNet for a
few epochs under several Probes, writes their runs under OUT and prints a JSON report of what the
TypeScript side must find there.

Runs written:
  both/        TinyNet built inside track_sources(); default layers, store="both", float16 probe
               inputs and activations, record_initial; the model is in train mode with one
               batch norm frozen in eval mode whenever epoch_end is called
  checkpoint/  the same model and epochs, store="checkpoint": the engine must recompute what
               both/ stored
  explicit/    the tracked model again, explicit layers (flatten and dropout included, given out
               of order), one epoch
  fallback/    a TinyNet built without track_sources (sources from reading probe_model.py),
               explicit layers, source_root = this folder
  nosource/    an nn.Sequential built here without tracking: no layer can have a source
Expected values (float32, little-endian) go to OUT/expected/<epoch>/<tensor>.f32, computed by
calling the modules directly, not through the probe's hooks.
"""

import json
import math
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cnnslicer  # noqa: E402
from probe_model import TinyNet  # noqa: E402

EPOCHS = 3
N = 24
DEFAULT_LAYERS = ["features.0", "features.1", "features.2", "features.3", "block.conv", "block.act", "fc"]


def probe_set():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(N, 1, 8, 8, generator=g) * 1.5
    y = torch.arange(N) % 3
    return x, y


def dump_expected(out, epoch, model, x):
    """features.0, both calls of block.act and the logits, computed without hooks, in eval mode."""
    folder = os.path.join(out, "expected", str(epoch))
    os.makedirs(folder, exist_ok=True)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        h = model.features(x)
        values = {
            "features.0": model.features[0](x),
            "block.act#1": F.relu(model.block.conv(h)),
            "block.act#2": F.relu(F.relu(model.block.conv(h)) - 0.25),
            "logits": model(x),
        }
    for m, flag in flags:
        m.training = flag
    for name, v in values.items():
        v.float().numpy().astype("<f4").tofile(os.path.join(folder, f"{name}.f32"))


def modes(model):
    return {name or "<root>": m.training for name, m in model.named_modules()}


def main(out):
    torch.manual_seed(0)
    x, y = probe_set()
    # The model sees the float16-rounded probe, as the Probe feeds it with probe_dtype="float16".
    x16 = x.half().float()
    report = {"epochs": EPOCHS, "modesRestored": [], "gradEnabledAfter": [], "metrics": {}}

    with cnnslicer.track_sources():
        model = TinyNet()
    dump_expected(out, 0, model, x16)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        both = cnnslicer.Probe(
            model, x, y, os.path.join(out, "both"), store="both", probe_dtype="float16",
            classes=["cat", "dog", "bird"], record_initial=True, initial_metrics={"loss": 1.25},
            name="probe test", batch_size=10,
        )
        ckpt = cnnslicer.Probe(
            model, x, y, os.path.join(out, "checkpoint"), store="checkpoint", probe_dtype="float16",
            classes=["cat", "dog", "bird"], record_initial=True, batch_size=10,
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(3)
        for epoch in range(1, EPOCHS + 1):
            model.train()
            xb = torch.randn(32, 1, 8, 8, generator=g)
            yb = torch.randint(0, 3, (32,), generator=g)
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            # A frozen batch norm inside a training model: the probe must put back both modes.
            model.features[3].eval()
            before = modes(model)
            metrics = {"loss": loss.item(), "accuracy": 0.25 * epoch, "lr": 0.1, "grad_norm": math.nan}
            both.epoch_end(epoch, **metrics)
            ckpt.epoch_end(epoch, **metrics)
            report["modesRestored"].append(modes(model) == before)
            report["gradEnabledAfter"].append(torch.is_grad_enabled())
            report["metrics"][str(epoch)] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}
        dump_expected(out, EPOCHS, model, x16)
        both.close()
        ckpt.close()
    report["warnings"] = [str(w.message) for w in caught if "cnnslicer" in str(w.message)]
    report["labels"] = y.tolist()

    explicit = cnnslicer.Probe(
        model, x, y, os.path.join(out, "explicit"), layers=["fc", "tail.1", "features.0", "tail.0"], store="activations",
        dtype="float32",
    )
    explicit.epoch_end(1, loss=0.5)
    explicit.close()

    untracked = TinyNet()
    fallback = cnnslicer.Probe(
        untracked, x, y, os.path.join(out, "fallback"), layers=DEFAULT_LAYERS + ["tail.0", "tail.1"], source_root=HERE,
    )
    fallback.epoch_end(1)

    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    nosource = cnnslicer.Probe(plain, x, y, os.path.join(out, "nosource"))
    nosource.epoch_end(1)

    try:
        cnnslicer.Probe(model, x, y, os.path.join(out, "unknown"), layers=["features.0", "nope.7"])
        report["unknownLayerError"] = None
    except ValueError as e:
        report["unknownLayerError"] = str(e)
    report["unknownRunExists"] = os.path.exists(os.path.join(out, "unknown"))

    try:
        cnnslicer.Probe(model, x * 1e5, y, os.path.join(out, "overflow"), probe_dtype="float16")
        report["float16OverflowError"] = None
    except cnnslicer.RunFormatError as e:
        report["float16OverflowError"] = str(e)
    report["overflowRunExists"] = os.path.exists(os.path.join(out, "overflow"))

    # A non-zero rank of an initialised process group, without starting one.
    dist = torch.distributed
    saved = (dist.is_available, dist.is_initialized, dist.get_rank)
    dist.is_available, dist.is_initialized, dist.get_rank = (lambda: True), (lambda: True), (lambda *a, **k: 1)
    try:
        rank1 = cnnslicer.Probe(model, x, y, os.path.join(out, "rank1"), store="both", record_initial=True)
        report["rank1"] = {
            "epochEnd": rank1.epoch_end(1, loss=1.0),
            "runDir": rank1.run_dir,
            "exists": os.path.exists(os.path.join(out, "rank1")),
        }
        rank1.close()
    finally:
        dist.is_available, dist.is_initialized, dist.get_rank = saved

    print(json.dumps(report))


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
