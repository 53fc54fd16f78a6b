"""Python half of test/python/torchvision.test.ts: torchvision's ResNet-18, VGG-11-BN and MobileNetV2
(as examples/torchvision_models.py builds them for 1x32x32 inputs) under the probe.

    torchvision_driver.py runs OUT      writes the runs below and prints a JSON report
    torchvision_driver.py logits PT RUN prints, as JSON, the logits of the ResNet saved in PT on
                                        RUN's probe inputs (PyTorch, eval mode)

Runs written by `runs` (N = 16 random probe inputs; each model has had two training steps, so
its batch-norm running statistics are neither the initial 0/1 nor one batch's):
  exact-<model>    layers="all", store="both", dtype="float32", epoch 1: the engine must
                   recompute every layer and the logits from the checkpoint
  leaves-resnet18  the default granularity on the same trained ResNet: constructed only, for its
                   manifest (no epoch written)
  blocks-resnet18, blocks-mobilenet_v2
                   layers="blocks" on the same trained models, store="activations" (float16),
                   epoch 1
  warn-resnet18    store="activations" with 500 probe inputs: constructed only (no epoch
                   written), for the size warning
Expected values (float32, little-endian) go to OUT/expected/<model>/<layer>.f32, computed by
calling the submodules directly in eval mode, without the probe's hooks.
`runs` also exports a trained torchvision ResNet-18 for 1x28x28 inputs (the standard 7x7 stem
with one input channel; its adaptive average pool takes any size) with plain torch.onnx.export to
OUT/import/resnet18.onnx, and its weights to OUT/import/resnet18.pt.
"""

import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "examples"))

import cnnslicer  # noqa: E402
from cnnslicer.safetensors_np import read_safetensors  # noqa: E402
from torchvision_models import MODELS, build_model  # noqa: E402

N = 16
CLASSES = 10


def train_steps(model, steps=2, batch=8, seed=1):
    """A couple of optimisation steps in training mode: batch norm running statistics move."""
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(steps):
        x = torch.randn(batch, 1, 32, 32, generator=g)
        y = torch.randint(0, CLASSES, (batch,), generator=g)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def dump(folder, values):
    os.makedirs(folder, exist_ok=True)
    for name, v in values.items():
        v.detach().float().contiguous().numpy().astype("<f4").tofile(os.path.join(folder, f"{name}.f32"))


def resnet_expected(model, x):
    """Both calls of layer1.0's shared relu, block outputs (plain and downsampling) and the logits."""
    m = model
    stem = F.relu(m.bn1(m.conv1(x)))  # maxpool is nn.Identity in build_model
    b = m.layer1[0]
    layer1_out = m.layer1(stem)
    layer2_0 = m.layer2[0](layer1_out)
    return {
        "layer1.0.relu#1": F.relu(b.bn1(b.conv1(stem))),
        # BasicBlock: relu(bn2(conv2(.)) + identity), the block's own output.
        "layer1.0.relu#2": F.relu(b.bn2(b.conv2(F.relu(b.bn1(b.conv1(stem))))) + stem),
        "layer1.0": b(stem),
        "layer2.0": layer2_0,
        "layer2.0.relu#1": F.relu(m.layer2[0].bn1(m.layer2[0].conv1(layer1_out))),
        "logits": m(x),
    }


def mobilenet_expected(model, x):
    """features.0 (Conv2dNormActivation), a residual InvertedResidual block and the logits."""
    f = model.features
    h = x
    outs = {}
    for i in range(len(f)):
        h = f[i](h)
        if i in (0, 1, 3, 18):
            outs[f"features.{i}"] = h
    # features.3 adds its input: check it against the residual formula too.
    before = f[:3](x)
    outs["features.3.residual"] = before + f[3].conv(before)
    outs["logits"] = model(x)
    return outs


def vgg_expected(model, x):
    return {"logits": model(x)}


EXPECTED = {"resnet18": resnet_expected, "mobilenet_v2": mobilenet_expected, "vgg11_bn": vgg_expected}


def eval_values(model, fn, x):
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            return fn(model, x)
    finally:
        for m, flag in flags:
            m.training = flag


def caught_messages(caught):
    return [str(w.message) for w in caught if "cnnslicer" in str(w.message)]


def runs(out):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(N, 1, 32, 32, generator=g)
    y = torch.arange(N) % CLASSES
    report = {"models": {}, "warnings": {}}
    for name in MODELS:
        torch.manual_seed(0)
        # Tracked, so that layers link to torchvision's own lines (both calls of a shared relu to
        # the line that built it).
        with cnnslicer.track_sources():
            model = build_model(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            probe = cnnslicer.Probe(model, x, y, os.path.join(out, f"exact-{name}"), layers="all", store="both", dtype="float32", batch_size=8)
            train_steps(model)
            probe.epoch_end(1, loss=1.0)
            probe.close()
            if name in ("resnet18", "mobilenet_v2"):
                if name == "resnet18":
                    cnnslicer.Probe(model, x, y, os.path.join(out, f"leaves-{name}"), store="activations")
                blocks = cnnslicer.Probe(model, x, y, os.path.join(out, f"blocks-{name}"), layers="blocks", store="activations")
                blocks.epoch_end(1)
                blocks.close()
        report["warnings"][name] = caught_messages(caught)
        dump(os.path.join(out, "expected", name), eval_values(model, EXPECTED[name], x))
        bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        report["models"][name] = {
            # How far the running statistics are from their initial values (mean 0, variance 1).
            "runningMeanMaxAbs": max(float(m.running_mean.abs().max()) for m in bn),
            "runningVarMaxDeviation": max(float((m.running_var - 1).abs().max()) for m in bn),
        }

    # The size warning: ResNet-18 with 500 probe inputs, constructed only.
    model = build_model("resnet18")
    big = torch.randn(500, 1, 32, 32, generator=g)
    labels = torch.arange(500) % CLASSES
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cnnslicer.Probe(model, big, labels, os.path.join(out, "warn-resnet18"), store="activations", batch_size=2)
    report["sizeWarning"] = {"messages": caught_messages(caught), "categories": [w.category.__name__ for w in caught if "cnnslicer" in str(w.message)]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cnnslicer.Probe(model, big, labels, os.path.join(out, "nowarn-resnet18"), store="activations", batch_size=2, activation_warning_bytes=None)
    report["sizeWarningOff"] = caught_messages(caught)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # float32 and the blocks only: the estimate is N x the blocks' values x 4 bytes.
        cnnslicer.Probe(model, big, labels, os.path.join(out, "warn32-resnet18"), layers="blocks", dtype="float32", batch_size=2, activation_warning_bytes=10**6)
    report["sizeWarningBlocks32"] = caught_messages(caught)

    report["import"] = export_resnet_for_import(os.path.join(out, "import"))
    print(json.dumps(report))


def import_resnet():
    import torchvision.models as tvm

    model = tvm.resnet18(num_classes=CLASSES)
    model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


def export_resnet_for_import(folder):
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(3)
    model = import_resnet()
    g = torch.Generator().manual_seed(4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for _ in range(2):
        xb = torch.randn(8, 1, 28, 28, generator=g)
        loss = F.cross_entropy(model(xb), torch.randint(0, CLASSES, (8,), generator=g))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    path = os.path.join(folder, "resnet18.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # As a user would export it: one sample, no dynamic axes, the default (eval) mode.
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=["input"], output_names=["logits"], opset_version=13)
    torch.save(model.state_dict(), os.path.join(folder, "resnet18.pt"))
    return {"onnx": path}


def logits(weights, run):
    torch.set_num_threads(1)
    model = import_resnet()
    model.load_state_dict(torch.load(weights))
    model.eval()
    tensors, _ = read_safetensors(os.path.join(run, "probe.safetensors"), ["inputs"])
    with torch.no_grad():
        out = model(torch.from_numpy(tensors["inputs"].astype(np.float32)))
    print(json.dumps({"shape": list(out.shape), "logits": out.flatten().tolist()}))


if __name__ == "__main__":
    if sys.argv[1] == "runs":
        runs(os.path.abspath(sys.argv[2]))
    elif sys.argv[1] == "logits":
        logits(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}: runs OUT | logits PT RUN")
