"""Python half of test/engine/deconvnetTorchvision.test.ts: torchvision's ResNet-18 and MobileNetV2
under the probe, and an independent deconvnet of some of their layers written in PyTorch.

    deconvnet_torchvision.py OUT     writes OUT/<model>/ (a run with one checkpoint epoch) and
                                     OUT/expected/<model>/<layer>.<channel>.f32 (projections,
                                     float32 little-endian), and prints a JSON report

The networks are torchvision's own classes (random initialisation, seeded, 3x64x64 inputs), in
eval mode, with every batch norm's scale, shift and running statistics set to seeded random values
so that normalisation is not the identity. The probe records layers="all" (leaves and blocks) and
exports the checkpoint as it does for any user.

The reference deconvnet follows docs/deconvnet.md without reading the ONNX file: it runs the
modules themselves, records the operators on the path to the layer (a tape), and walks the tape
backwards: max pool -> scatter-add of each value at its switch (torch's per-plane indices), ReLU
and ReLU6 -> rectify, convolution -> conv_transpose2d with the same weight, stride, padding,
dilation and groups (no bias), batch norm -> multiply by weight / sqrt(running_var + eps),
adaptive average pool to 1x1 -> spread evenly, flatten -> reshape back, residual add -> the
block's main path only (the shortcut, computed off the tape, gets nothing).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import cnnslicer  # noqa: E402

N = 2
SHAPE = (3, 64, 64)
# The layers compared, per model: after a ReLU, a max pool with overlapping windows, residual adds
# with an identity and a projection shortcut, a convolution after several blocks, the global
# average pool; a ReLU6, an add whose shortcut is its first input, a ReLU6 after it, a depthwise
# block, and the flattened features before the classifier.
LAYERS = {
    "resnet18": ["relu", "maxpool", "layer1.0.relu#2", "layer2.0", "layer3.1.conv1", "avgpool"],
    "mobilenet_v2": ["features.0.2", "features.3", "features.4.conv.0.2", "features.6.conv.1.2", "classifier.0"],
}
CHANNELS_PER_LAYER = 2
# What the probe records: every leaf and block of the ResNet; only the compared layers of the
# MobileNet (its Dropout, whose output is the flattened features, is no default kind), so that the
# exporter folds the batch norms whose convolution is not recorded into that convolution, and
# both forms are on the paths compared.
RECORD = {"resnet18": "all", "mobilenet_v2": LAYERS["mobilenet_v2"]}


class Found(Exception):
    def __init__(self, value):
        super().__init__()
        self.value = value


class Tape:
    """The operators on the path to `stop`, in forward order; raises Found at `stop`."""

    def __init__(self, stop):
        self.stop = stop
        self.ops = []

    def mark(self, name, y):
        if name == self.stop:
            raise Found(y)
        return y

    def conv(self, name, c, x):
        self.ops.append(("conv", c, tuple(x.shape)))
        return self.mark(name, c(x))

    def bn(self, name, b, x):
        self.ops.append(("bn", b))
        return self.mark(name, b(x))

    def relu(self, name, x, six=False):
        self.ops.append(("relu",))
        return self.mark(name, F.relu6(x) if six else F.relu(x))

    def maxpool(self, name, p, x):
        y, idx = F.max_pool2d(x, p.kernel_size, p.stride, p.padding, p.dilation, ceil_mode=p.ceil_mode, return_indices=True)
        self.ops.append(("maxpool", idx, tuple(x.shape)))
        return self.mark(name, y)

    def global_average(self, name, x):
        self.ops.append(("gap", tuple(x.shape)))
        return self.mark(name, F.adaptive_avg_pool2d(x, 1))

    def flatten(self, name, x):
        self.ops.append(("flatten", tuple(x.shape)))
        return self.mark(name, torch.flatten(x, 1))

    def add(self, name, main, shortcut):
        # Nothing to invert: the signal goes back along the main path, which is on the tape.
        return self.mark(name, main + shortcut)


def resnet_forward(m, x, t):
    x = t.relu("relu", t.bn("bn1", m.bn1, t.conv("conv1", m.conv1, x)))
    x = t.maxpool("maxpool", m.maxpool, x)
    for li in range(1, 5):
        for bi, blk in enumerate(getattr(m, f"layer{li}")):
            p = f"layer{li}.{bi}"
            y = t.relu(f"{p}.relu#1", t.bn(f"{p}.bn1", blk.bn1, t.conv(f"{p}.conv1", blk.conv1, x)))
            y = t.bn(f"{p}.bn2", blk.bn2, t.conv(f"{p}.conv2", blk.conv2, y))
            # The shortcut is computed by the modules directly: it is not on the path.
            shortcut = blk.downsample(x) if blk.downsample is not None else x
            y = t.mark(p, t.relu(f"{p}.relu#2", t.add(f"{p}.add", y, shortcut)))
            x = y
    return t.global_average("avgpool", x)


def mobilenet_module(mod, name, x, t):
    from torchvision.models.mobilenetv2 import InvertedResidual

    if isinstance(mod, nn.Conv2d):
        return t.conv(name, mod, x)
    if isinstance(mod, nn.BatchNorm2d):
        return t.bn(name, mod, x)
    if isinstance(mod, (nn.ReLU6, nn.ReLU)):
        return t.relu(name, x, six=isinstance(mod, nn.ReLU6))
    if isinstance(mod, nn.Dropout):
        return t.mark(name, x)
    if isinstance(mod, InvertedResidual):
        y = mobilenet_module(mod.conv, f"{name}.conv", x, t)
        return t.mark(name, t.add(name, y, x) if mod.use_res_connect else y)
    if isinstance(mod, nn.Sequential):
        for i, sub in enumerate(mod):
            x = mobilenet_module(sub, f"{name}.{i}", x, t)
        return t.mark(name, x)
    raise TypeError(f"{name}: {type(mod).__name__}")


def mobilenet_forward(m, x, t):
    x = mobilenet_module(m.features, "features", x, t)
    x = t.flatten("flatten", t.global_average("pool", x))
    return mobilenet_module(m.classifier[0], "classifier.0", x, t)


def forward_to(model_name, model, x, layer):
    t = Tape(layer)
    try:
        (resnet_forward if model_name == "resnet18" else mobilenet_forward)(model, x, t)
    except Found as found:
        return found.value, t.ops
    raise KeyError(layer)


def deconvnet(ops, y, channel):
    g = torch.zeros_like(y)
    g[:, channel] = y[:, channel]
    for op in reversed(ops):
        kind = op[0]
        if kind == "conv":
            c, in_shape = op[1], op[2]
            out_pad = [
                in_shape[2 + i] - ((g.shape[2 + i] - 1) * c.stride[i] - 2 * c.padding[i] + c.dilation[i] * (c.kernel_size[i] - 1) + 1) for i in range(2)
            ]
            g = F.conv_transpose2d(g, c.weight, stride=c.stride, padding=c.padding, output_padding=out_pad, groups=c.groups, dilation=c.dilation)
        elif kind == "bn":
            b = op[1]
            g = g * (b.weight / torch.sqrt(b.running_var + b.eps)).view(1, -1, 1, 1)
        elif kind == "relu":
            g = F.relu(g)
        elif kind == "maxpool":
            idx, in_shape = op[1], op[2]
            flat = torch.zeros(in_shape[0], in_shape[1], in_shape[2] * in_shape[3], dtype=g.dtype)
            flat.scatter_add_(2, idx.flatten(2), g.flatten(2))
            g = flat.view(in_shape)
        elif kind == "gap":
            in_shape = op[1]
            g = g.expand(in_shape) / (in_shape[2] * in_shape[3])
        elif kind == "flatten":
            g = g.reshape(op[1])
        else:
            raise ValueError(kind)
    return g


def randomise_batch_norms(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            sign = torch.where(torch.rand(c, generator=gen) < 0.2, -1.0, 1.0)
            m.weight.data = sign * (0.3 + 1.2 * torch.rand(c, generator=gen))
            m.bias.data = 0.6 * torch.rand(c, generator=gen) - 0.3
            m.running_mean.data = 0.3 * torch.randn(c, generator=gen)
            m.running_var.data = 0.5 + 1.5 * torch.rand(c, generator=gen)


def main(out):
    import torchvision.models as tvm

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(N, *SHAPE, generator=gen)
    report = {"cases": []}
    for name in LAYERS:
        model = getattr(tvm, name)(num_classes=10)
        randomise_batch_norms(model, gen)
        model.eval()
        probe = cnnslicer.Probe(model, x.numpy(), np.arange(N) % 10, os.path.join(out, name), layers=RECORD[name], store="checkpoint", record_initial=True, overwrite=True)
        probe.close()
        folder = os.path.join(out, "expected", name)
        os.makedirs(folder, exist_ok=True)
        with torch.no_grad():
            for layer in LAYERS[name]:
                y, ops = forward_to(name, model, x, layer)
                per_sample_max = y.flatten(2).amax(2) if y.dim() > 2 else y
                # The most active channels, so that the projections are far from zero.
                channels = per_sample_max.mean(0).argsort(descending=True)[:CHANNELS_PER_LAYER].tolist()
                for channel in channels:
                    g = deconvnet(ops, y, channel)
                    path = os.path.join(folder, f"{layer}.{channel}.f32")
                    g.contiguous().numpy().astype("<f4").tofile(path)
                    report["cases"].append(
                        {
                            "model": name,
                            "layer": layer,
                            "channel": channel,
                            "file": path,
                            "activation": per_sample_max[:, channel].tolist(),
                            "ops": [op[0] for op in ops],
                        }
                    )
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
