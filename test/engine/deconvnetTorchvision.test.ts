// The deconvnet on real networks: torchvision's ResNet-18 and MobileNetV2, recorded by the probe
// as a user's training would, projected by the engine and by an independent deconvnet written in
// PyTorch (scripts/deconvnet_torchvision.py) that runs the modules themselves and never reads the
// ONNX file. The layers compared cover batch norm (kept as an operator in the ResNet, folded into
// the convolutions in the MobileNet), ReLU6 exported as Clip, depthwise convolutions, max pooling
// with overlapping windows, residual adds with identity and projection shortcuts (the main-path
// rule), global average pooling and flatten.
import * as assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { planDeconvnet } from '../../src/engine/deconvnet/analyzeGraph';
import { deconvnet, disposeDeconvnetSessions } from '../../src/engine/deconvnet/deconvnet';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import { float32FromBytes, parseOutput, requirePython } from '../python/pyhelpers';
import { runPython } from '../support/python';
import { tempDir } from '../support/runFixtures';
import { randomFloats, seededRandom } from '../support/tinyCnn';

const SCRIPT = path.join(__dirname, 'scripts', 'deconvnet_torchvision.py');

interface Case {
  readonly model: string;
  readonly layer: string;
  readonly channel: number;
  /** The projection torch computed, [n, 3, 64, 64] float32. */
  readonly file: string;
  /** Per sample, the channel's largest value. */
  readonly activation: number[];
  /** The operators on torch's path to the layer, in forward order (conv, bn, relu, maxpool, gap, flatten). */
  readonly ops: string[];
}

/** The layers the script projects, and what each one exercises. */
const LAYERS: readonly { model: string; layer: string; what: string }[] = [
  { model: 'resnet18', layer: 'relu', what: 'the stem: 7×7 stride-2 convolution, batch norm, ReLU' },
  { model: 'resnet18', layer: 'maxpool', what: 'a 3×3 stride-2 max pool, whose windows overlap' },
  { model: 'resnet18', layer: 'layer1.0.relu#2', what: 'the ReLU after a residual add with an identity shortcut' },
  { model: 'resnet18', layer: 'layer2.0', what: 'a block whose shortcut is a strided 1×1 convolution and batch norm' },
  { model: 'resnet18', layer: 'layer3.1.conv1', what: 'a convolution after five residual blocks' },
  { model: 'resnet18', layer: 'avgpool', what: 'the global average pool' },
  { model: 'mobilenet_v2', layer: 'features.0.2', what: 'the first ReLU6 (exported as Clip)' },
  { model: 'mobilenet_v2', layer: 'features.3', what: 'a residual add whose shortcut is its first input' },
  { model: 'mobilenet_v2', layer: 'features.4.conv.0.2', what: 'a ReLU6 after that residual add' },
  { model: 'mobilenet_v2', layer: 'features.6.conv.1.2', what: 'the ReLU6 after a depthwise convolution, two residual blocks later' },
  { model: 'mobilenet_v2', layer: 'classifier.0', what: 'the flattened, globally averaged features before the classifier' },
];

/**
 * Whether `actual` equals `expected` within float32 rounding of two different libraries: every
 * value within `tol` of the projection's largest magnitude. The projection is a sum over many
 * products, so the error of a small value is set by the large ones it was summed with.
 */
function assertProjectionClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  assert.ok(scale > 0, `${what}: torch's projection is all zero, so the comparison would mean nothing`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= tol * scale,
    `${what}: [${at}] is ${actual[at]}, torch ${expected[at]} (difference ${worst}, ${(worst / scale).toExponential(2)} of the largest value ${scale})`,
  );
}

/** What a torch operator becomes on the engine's path (a batch norm folded into its convolution is no step of its own). */
const STEP_OF_OP: Readonly<Record<string, string>> = { conv: 'conv', relu: 'relu', maxpool: 'maxpool', gap: 'mean', flatten: 'reshape' };

/** The steps compared, with a run of rectifications as one: some exporters write ReLU6 as a Relu and a Clip. */
function comparable(kinds: readonly string[]): string[] {
  return kinds.filter((k, i) => Object.values(STEP_OF_OP).includes(k) && !(k === 'relu' && kinds[i - 1] === 'relu'));
}

describe('deconvnet on torchvision networks, against a PyTorch deconvnet', function () {
  this.timeout(300_000);
  let root: string;
  let cases: Case[] = [];

  before(async function () {
    const python = requirePython(this, ['torch', 'torchvision']);
    root = tempDir('cnnslicer-deconvnet-tv-');
    const res = await runPython(python, [SCRIPT, root], { check: true, timeoutMs: 240_000 });
    cases = parseOutput<{ cases: Case[] }>(res).cases;
  });

  after(async () => {
    await disposeDeconvnetSessions();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('the script projected every layer listed here, two channels each', () => {
    assert.deepEqual(
      [...new Set(cases.map((c) => `${c.model} ${c.layer}`))],
      LAYERS.map((l) => `${l.model} ${l.layer}`),
    );
    for (const l of LAYERS) assert.equal(cases.filter((c) => c.model === l.model && c.layer === l.layer).length, 2, l.layer);
  });

  for (const { model, layer, what } of LAYERS) {
    it(`${model} ${layer}: ${what}`, async () => {
      const dir = path.join(root, model);
      const checkpoint = path.join(dir, 'epochs', 'epoch-0000', 'model.onnx');
      const reader = await RunReader.open(dir);
      try {
        const inputShape = reader.manifest.probe.inputShape;
        // The path the engine follows has the convolutions and rectifications of torch's path:
        // at every residual add it went along the block's main path, not the shortcut.
        const plan = planDeconvnet(onnx.ModelProto.decode(readFileSync(checkpoint)), layer, inputShape, checkpoint);
        const mine = cases.filter((c) => c.model === model && c.layer === layer);
        assert.deepEqual(
          comparable(plan.steps.filter((s) => s.kind !== 'pass').map((s) => s.kind)),
          comparable(mine[0].ops.map((op) => STEP_OF_OP[op] ?? op)),
          'the operators on the path',
        );
        for (const c of mine) {
          const r = await deconvnet(reader, { layer, channel: c.channel, epoch: 0, samples: { kind: 'all' } });
          assert.deepEqual(r.shape, [c.activation.length, ...inputShape]);
          const expected = float32FromBytes(readFileSync(c.file));
          assertProjectionClose(r.images, expected, 2e-5, `${layer} channel ${c.channel}`);
          assertProjectionClose(r.activation, Float32Array.from(c.activation), 1e-5, `${layer} channel ${c.channel} activation`);
        }
      } finally {
        await reader.close();
      }
    });
  }
});

describe('deconvnet on the other operators of real networks, against PyTorch', function () {
  this.timeout(120_000);
  // A model torch.onnx.export writes with a batch norm kept as an operator, ReLU6 (exported as
  // Relu then Clip), an average pool with padding that does not count, a grouped convolution, a
  // Clip to [0, 3], a residual add whose shortcut is its first input, a max pool after it (whose
  // switches depend on the shortcut too), a mean over the spatial axes and a reshape to one row per
  // sample; and the deconvnet of four of its layers in torch, with the average pool's transpose
  // taken from autograd (a linear map's vector-Jacobian product is its transpose), printed as JSON.
  const SCRIPT_OPS = String.raw`
import json, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
out_path, inputs_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, groups=2)
        self.conv3 = nn.Conv2d(6, 6, 1)
        self.fc = nn.Linear(6, 3)
    def forward(self, x):
        conv1 = self.conv1(x)
        bn1 = self.bn1(conv1)
        relu1 = F.relu6(bn1)
        pool1 = self.pool(relu1)
        conv2 = self.conv2(pool1)
        clip2 = F.hardtanh(conv2, 0.0, 3.0)
        res = clip2 + self.conv3(clip2)
        pool2 = F.max_pool2d(res, 2)
        mean = pool2.mean(dim=(2, 3), keepdim=True)
        flat = mean.reshape(-1, 6)
        return conv1, bn1, relu1, pool1, conv2, clip2, res, pool2, mean, flat, self.fc(flat)
net = Net()
with torch.no_grad():
    net.bn1.weight.copy_(torch.tensor([1.2, -0.7, 0.5, 2.0]))
    net.bn1.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    net.bn1.running_mean.copy_(torch.tensor([0.05, -0.1, 0.2, 0.0]))
    net.bn1.running_var.copy_(torch.tensor([0.5, 1.5, 0.8, 2.5]))
net.eval()
names = ['conv1', 'bn1', 'relu1', 'pool1', 'conv2', 'clip2', 'res', 'pool2', 'mean', 'flat', 'logits']
torch.onnx.export(net, torch.zeros(2, 2, 8, 8), out_path, opset_version=13, input_names=['input'], output_names=names,
                  dynamic_axes={k: {0: 'batch'} for k in ['input'] + names}, training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
raw = open(inputs_path, 'rb').read()
x = torch.tensor(struct.unpack('<%df' % (len(raw) // 4), raw), dtype=torch.float32).reshape(n, 2, 8, 8)

def transpose_conv(g, conv):
    return F.conv_transpose2d(g, conv.weight, stride=conv.stride, padding=conv.padding, groups=conv.groups)

def transpose_avg_pool(g, shape):
    # Average pooling is linear, so its transpose is its vector-Jacobian product at any point.
    z = torch.zeros(shape, requires_grad=True)
    with torch.enable_grad():
        y = F.avg_pool2d(z, 3, stride=2, padding=1, count_include_pad=False)
        return torch.autograd.grad(y, z, grad_outputs=g)[0]

out = {}
with torch.no_grad():
    conv1, bn1, relu1, pool1, conv2, clip2, res, pool2, mean, flat, _ = net(x)
    # The switches depend on the whole block, shortcut included.
    _, switches = F.max_pool2d(res, 2, return_indices=True)
    bn_scale = (net.bn1.weight / torch.sqrt(net.bn1.running_var + net.bn1.eps)).view(1, -1, 1, 1)
    def below_pool1(g):
        g = transpose_avg_pool(g, relu1.shape)
        g = F.relu(g)
        g = g * bn_scale
        return transpose_conv(g, net.conv1)
    def below_res(g):
        # The residual add's main path is conv3 (the shortcut, clip2 itself, is dropped).
        g = transpose_conv(g, net.conv3)
        g = F.relu(g)
        g = transpose_conv(g, net.conv2)
        return below_pool1(g)
    def below_pool2(g):
        return below_res(F.max_unpool2d(g, switches, 2, output_size=res.shape[-2:]))
    def below_flat(g):
        g = g.reshape(mean.shape)
        g = g.expand(pool2.shape) / (pool2.shape[2] * pool2.shape[3])
        return below_pool2(g)
    for layer, value, below in (('pool1', pool1, below_pool1), ('res', res, below_res), ('pool2', pool2, below_pool2), ('flat', flat, below_flat)):
        projections, activations = [], []
        for channel in range(value.shape[1]):
            g = torch.zeros_like(value)
            g[:, channel] = value[:, channel]
            projections.append(below(g).flatten().tolist())
            activations.append(value[:, channel].reshape(n, -1).amax(1).tolist())
        out[layer] = {'projections': projections, 'activations': activations}
print(json.dumps(out))
`;
  const n = 3;
  let root: string;
  before(() => {
    root = tempDir('cnnslicer-deconvnet-ops-');
  });
  after(async () => {
    await disposeDeconvnetSessions();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('projects through an average pool, a grouped convolution, clips, a residual add, a max pool after it, a spatial mean and a reshape as torch does', async function () {
    const python = requirePython(this, ['torch']);
    const inputs = randomFloats(seededRandom(29), n * 2 * 8 * 8);
    const modelPath = path.join(root, 'model.onnx');
    const inputsPath = path.join(root, 'inputs.f32');
    await fs.writeFile(inputsPath, new Uint8Array(inputs.buffer));
    const res = await runPython(python, ['-c', SCRIPT_OPS, modelPath, inputsPath, String(n)], { check: true });
    const want = parseOutput<Record<string, { projections: number[][]; activations: number[][] }>>(res);

    const dir = path.join(root, 'run');
    const w = await RunWriter.create(dir, {
      model: { name: 'other operators', framework: 'pytorch' },
      layers: [
        { name: 'pool1', kind: 'pool', shape: [4, 4, 4] },
        { name: 'res', kind: 'block', shape: [6, 4, 4] },
        { name: 'pool2', kind: 'pool', shape: [6, 2, 2] },
        { name: 'flat', kind: 'flatten', shape: [6] },
      ],
      classes: ['a', 'b', 'c'],
      probe: { inputs, inputShape: [2, 8, 8], labels: [0, 1, 2] },
    });
    await w.writeEpoch(0, { metrics: {}, checkpoint: modelPath });
    await w.finish();
    const reader = await RunReader.open(dir);
    try {
      for (const layer of ['pool1', 'res', 'pool2', 'flat']) {
        const { projections, activations } = want[layer];
        for (let channel = 0; channel < projections.length; channel++) {
          const r = await deconvnet(reader, { layer, channel, epoch: 0, samples: { kind: 'all' } });
          assert.deepEqual(r.shape, [n, 2, 8, 8]);
          assertProjectionClose(r.images, Float32Array.from(projections[channel]), 2e-5, `${layer} channel ${channel}`);
          assertProjectionClose(r.activation, Float32Array.from(activations[channel]), 1e-5, `${layer} channel ${channel} activation`);
        }
      }
    } finally {
      await reader.close();
    }
  });
});
