"""Faults: a kill -9 in the middle of saving a checkpoint, and what the code must never do (pickle).

Training killed mid-run and resumed is in test_train.py; corrupt or mismatched checkpoints in
test_model.py; the Hub down or serving broken weights in test_hub.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import torch

from lenet.checkpoint import load_model, read_metrics, save_checkpoint
from lenet.model import LeNet5

# Saves a new checkpoint over argv[2], but stops dead at a chosen point (argv[1]) after touching
# argv[3] to say it is there, so the test can kill -9 it exactly then.
SAVE_AND_STALL = """
import os, sys, time, torch
from pathlib import Path
import lenet.checkpoint as checkpoint
from lenet.model import LeNet5
where, out, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])

def stall():
    ready.touch()
    time.sleep(300)

if where == "writing-weights":
    real_save_file = checkpoint.save_file
    def save_file(tensors, filename, metadata=None):
        real_save_file(tensors, filename, metadata=metadata)
        Path(filename).write_bytes(Path(filename).read_bytes()[:1000])  # half written
        stall()
    checkpoint.save_file = save_file
else:  # between moving the old folder aside and moving the new one in
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if ".old-" in str(dst):
            stall()
    checkpoint.os.replace = replace
torch.manual_seed(1)
checkpoint.save_checkpoint(LeNet5(), out, {"which": "new"})
"""


def logits(model: LeNet5) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("where", ["writing-weights", "between-renames"])
def test_kill_during_a_checkpoint_save_leaves_the_previous_one_loadable(tmp_path, cli_env, where):
    out = tmp_path / "lenet5"
    torch.manual_seed(0)
    previous = LeNet5()
    save_checkpoint(previous, out, {"which": "previous"})
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", SAVE_AND_STALL, where, str(out), str(ready)], env=cli_env)
    deadline = time.monotonic() + 120
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL and ready.exists(), "the save did not reach the stall point"
    assert where != "between-renames" or not out.exists()  # the window this test is about

    assert torch.equal(logits(load_model(out)), logits(previous))
    assert read_metrics(out) == {"which": "previous"}

    torch.manual_seed(2)
    newer = LeNet5()
    save_checkpoint(newer, out, {"which": "newer"})  # the next save tidies up and works
    assert torch.equal(logits(load_model(out)), logits(newer))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
