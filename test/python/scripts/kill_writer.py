"""Python half of test/python/killWriter.test.ts: a writer to be killed mid-write, many times.

Importing torch takes over a second, so this process imports it once and then forks one writer
per request; the test SIGKILLs the writer, not this process. Protocol, one line each way:

  <- ready                 torch and cnnslicer are imported
  -> spawn DIR             fork a writer that records KillNet into the run DIR, epoch after epoch
  <- pid PID
  -> reap PID              wait for that writer to be gone (the test has killed it)
  <- reaped PID STATUS     STATUS as os.waitpid gives it
  -> quit

The writer uses the real Probe (store="both", float32): per epoch an activations file of about
600 KB and an ONNX checkpoint. Its weights, its probe inputs and hence every recorded value are
integers given by the formulas below, exact in float32, which the test recomputes: an epoch that
reads back with other values was torn or mixed with another.
"""

import os
import sys

import torch
import torch.nn as nn

import cnnslicer

N = 64
CHANNELS = 16
CLASSES = 10
# Bounds the disk a writer left running (if the test died) can fill.
MAX_EPOCH = 400


class KillNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, CHANNELS, 1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(CHANNELS * 4 * 4, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.relu(self.conv(x)))))


def probe_inputs() -> torch.Tensor:
    n, i, j = torch.meshgrid(torch.arange(N), torch.arange(8), torch.arange(8), indexing="ij")
    return ((n * 7 + i * 3 + j * 5) % 9 - 4).float().reshape(N, 1, 8, 8)


def set_weights(model: KillNet, epoch: int) -> None:
    c = torch.arange(CHANNELS)
    k = torch.arange(CLASSES)[:, None]
    j = torch.arange(CHANNELS * 16)[None, :]
    with torch.no_grad():
        model.conv.weight.copy_((((epoch + c) % 5) - 2).float().reshape(CHANNELS, 1, 1, 1))
        model.conv.bias.copy_((((epoch * 3 + c) % 7) - 3).float())
        model.fc.weight.copy_((((epoch + 3 * k + j) % 5) - 2).float())
        model.fc.bias.copy_(((epoch % 4) - torch.arange(CLASSES)).float())


def write_forever(run_dir: str, parent: int) -> None:
    torch.set_num_threads(1)
    model = KillNet()
    set_weights(model, 0)
    labels = torch.arange(N) % CLASSES
    probe = cnnslicer.Probe(
        model, probe_inputs(), labels, run_dir, store="both", dtype="float32", record_initial=True,
        initial_metrics={"loss": 0.0}, batch_size=32,
    )
    epoch = 0
    while epoch < MAX_EPOCH and os.getppid() == parent:
        epoch += 1
        set_weights(model, epoch)
        probe.epoch_end(epoch, loss=epoch / 8)


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "spawn":
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    write_forever(parts[1], parent)
                except BaseException as e:  # noqa: BLE001 - reported, then the fork exits
                    print(f"writer failed: {e!r}", file=sys.stderr, flush=True)
                    code = 1
                # Skips the parent's atexit handlers and buffered stdin, which are not the fork's.
                os._exit(code)
            print(f"pid {pid}", flush=True)
        elif parts[0] == "reap":
            pid = int(parts[1])
            _, status = os.waitpid(pid, 0)
            print(f"reaped {pid} {status}", flush=True)
        elif parts[0] == "quit":
            break


if __name__ == "__main__":
    main()
