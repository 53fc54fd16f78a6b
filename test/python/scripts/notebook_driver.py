"""Python half of test/python/notebook.test.ts: the probe driven from Jupyter notebook cells.

Builds a notebook with nbformat (imports, a small CNN defined in a cell, synthetic data, the
probe, a training loop) and executes it with nbclient on an ipykernel kernel of this interpreter,
as JupyterLab or VS Code would run it. Two scenarios:

  notebook_driver.py complete DIR   runs every cell: the loop trains 3 epochs, the last cell
                                    closes the probe
  notebook_driver.py restart DIR    restarts the kernel (SIGKILL and a fresh kernel, as the
                                    frontends' Restart does when the kernel is busy) while the
                                    loop cell runs, after epoch 2 was recorded and before epoch 3
                                    is; then runs a cell in the new kernel
  notebook_driver.py restart DIR --hold
                                    the same, but once epoch 2 is recorded it prints "holding"
                                    and restarts only when a line arrives on stdin, so that a
                                    test can look at the run while its kernel is still training

DIR is the notebook's folder, the kernel's working directory; the run goes to DIR/runs/notebook,
relative as a notebook would write it. The kernelspec is written under $JUPYTER_PATH, which the
test points at its temporary folder (as are $JUPYTER_DATA_DIR, $JUPYTER_RUNTIME_DIR,
$JUPYTER_CONFIG_DIR and $IPYTHONDIR), so nothing is read from or written to the user's home.

Prints one JSON object (on its last line): the outputs of every executed cell, the kernel's process ids before and
after a restart, and how the interrupted cell ended.
"""

import asyncio
import json
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

KERNEL = "cnnslicer-test-python"
RUN_DIR = "runs/notebook"
EPOCHS = 3
# The restart scenario lets the loop record this many epochs; the next one never ends.
RECORDED_BEFORE_RESTART = 2
MARKER = "cnnslicer-test: recorded epoch"

CELLS = {
    "imports": """\
import os
import threading

import torch
import torch.nn as nn

import cnnslicer
import blocks

torch.manual_seed(0)
torch.set_num_threads(1)
print("kernel pid", os.getpid())""",
    # The model is defined in a cell: its code's file is ipykernel's name for the cell, which is
    # not a file (or, once a debugger has dumped the cell, a temporary file of this kernel). Its
    # classifier is built in blocks.py, a module beside the notebook, which is a file.
    "model": """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = blocks.classifier(4 * 3 * 3, 4)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.relu1(self.conv1(x)))))


with cnnslicer.track_sources():
    model = Net()""",
    # What a debugger does when it steps into a cell (ipykernel's dumpCell): the cell's code is
    # written to the temporary file the code object names. A source location pointing there
    # would outlive the kernel's temporary folder and mean nothing; the probe must not record it.
    "debugger": """\
from ipykernel.compiler import get_file_name, get_tmp_directory

os.makedirs(get_tmp_directory(), exist_ok=True)
for cell_code in In[1:]:
    with open(get_file_name(cell_code), "w", encoding="utf-8") as f:
        f.write(cell_code)
print("dumped", Net.__init__.__code__.co_filename, os.path.isfile(Net.__init__.__code__.co_filename))""",
    "data": """\
x = torch.randn(48, 1, 8, 8)
y = torch.arange(48) % 4
x[torch.arange(48), 0, y, y] += 3.0  # a learnable signal: a bright pixel on the diagonal per class""",
    "probe": f"""\
probe = cnnslicer.Probe(model, x[:32], y[:32], {RUN_DIR!r}, classes=["a", "b", "c", "d"],
                        store="both", record_initial=True, name="notebook run", source_root=os.getcwd())
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()""",
}


def loop_cell(stall_after: int) -> str:
    # The stall stands for a long epoch: the restart comes while it runs, so which epochs were
    # recorded before it is known exactly.
    return f"""\
stall = threading.Event()
for epoch in range(1, {EPOCHS} + 1):
    if epoch > {stall_after}:
        stall.wait()
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    accuracy = (model(x).argmax(1) == y).float().mean().item()
    probe.epoch_end(epoch, loss=loss.item(), accuracy=accuracy)
    print({MARKER!r}, epoch, flush=True)"""


BLOCKS_MODULE = """\
import torch.nn as nn


def classifier(features, classes):
    return nn.Linear(features, classes)
"""
CLOSE_CELL = "probe.close()\nprint('closed', probe.run_dir)"
AFTER_RESTART_CELL = "import os\nprint('kernel pid', os.getpid())\nprint('probe' in dir())"


def write_kernelspec() -> None:
    """What ``python -m ipykernel install`` writes, for this interpreter, under $JUPYTER_PATH."""
    folder = os.path.join(os.environ["JUPYTER_PATH"], "kernels", KERNEL)
    os.makedirs(folder, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (CNNSlicer test)",
        "language": "python",
    }
    with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f)


def build(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3 (CNNSlicer test)", "language": "python"}
    return nb


def outputs_of(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}\n" + "\n".join(out.get("traceback", [])))
        elif "data" in out:
            parts.append(str(out["data"].get("text/plain", "")))
    return "".join(parts)


class RestartingClient(NotebookClient):
    """Says when the loop cell has printed that its last epoch before the restart was recorded."""

    def __init__(self, nb, **kwargs) -> None:
        super().__init__(nb, **kwargs)
        self.recorded = asyncio.Event()

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        text = msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""
        if f"{MARKER} {RECORDED_BEFORE_RESTART}\n" in text:
            self.recorded.set()
        return out


def client_for(nb, folder: str, cls=NotebookClient) -> NotebookClient:
    return cls(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": folder}}, allow_errors=False)


def run_complete(folder: str) -> dict:
    nb = build([CELLS["imports"], CELLS["model"], CELLS["debugger"], CELLS["data"], CELLS["probe"], loop_cell(EPOCHS), CLOSE_CELL])
    client_for(nb, folder).execute()
    nbformat.write(nb, os.path.join(folder, "complete.ipynb"))
    return {"outputs": [outputs_of(c) for c in nb.cells]}


async def run_restart(folder: str, hold: bool) -> dict:
    nb = build([CELLS["imports"], CELLS["model"], CELLS["debugger"], CELLS["data"], CELLS["probe"], loop_cell(RECORDED_BEFORE_RESTART)])
    client = client_for(nb, folder, RestartingClient)
    assert isinstance(client, RestartingClient)
    async with client.async_setup_kernel():
        loop_index = len(nb.cells) - 1
        for index, cell in enumerate(nb.cells[:loop_index]):
            await client.async_execute_cell(cell, index)
        before = client.km.provisioner.process.pid if client.km.provisioner is not None else None
        loop = asyncio.ensure_future(client.async_execute_cell(nb.cells[loop_index], loop_index))
        recorded = asyncio.ensure_future(client.recorded.wait())
        await asyncio.wait({loop, recorded}, return_when=asyncio.FIRST_COMPLETED)
        if loop.done():
            loop.result()  # raises what ended the cell early
            raise RuntimeError("the loop cell finished without stalling")
        if hold:
            print("holding", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        # now=True kills the busy kernel at once: a kernel executing a cell does not answer a
        # shutdown request, so a frontend's Restart ends in the same kill after its wait.
        await client.km.restart_kernel(now=True)
        # The killed kernel never replies to the loop cell; nbclient either noticed the dead
        # kernel (DeadKernelError) or would wait on. Its wait reads the shell channel, where it
        # would swallow the new kernel's replies, so it ends before the new kernel is asked.
        loop.cancel()
        try:
            await loop
            ended = "finished"
        except asyncio.CancelledError:
            ended = "cancelled"
        except DeadKernelError:
            ended = "dead kernel"
        await client.kc.wait_for_ready(timeout=120)
        after = client.km.provisioner.process.pid if client.km.provisioner is not None else None
        nb.cells.append(nbformat.v4.new_code_cell(AFTER_RESTART_CELL))
        await client.async_execute_cell(nb.cells[-1], len(nb.cells) - 1)
    nbformat.write(nb, os.path.join(folder, "restart.ipynb"))
    return {"outputs": [outputs_of(c) for c in nb.cells], "loopCell": ended, "kernelPids": [before, after]}


def main() -> None:
    scenario, folder = sys.argv[1], os.path.abspath(sys.argv[2])
    write_kernelspec()
    with open(os.path.join(folder, "blocks.py"), "w", encoding="utf-8") as f:
        f.write(BLOCKS_MODULE)
    if scenario == "complete":
        result = run_complete(folder)
    elif scenario == "restart":
        result = asyncio.run(run_restart(folder, hold="--hold" in sys.argv[3:]))
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
