"""Corrections: the folder the app writes (a dataset the Hub's own loader reads), its bounds, the
batched push to a loopback Hub with huggingface_hub's CommitScheduler, and training and evaluating
on corrections with the CLI, on real MNIST digits."""

from __future__ import annotations

import functools
import json
import secrets
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from lenet import Predictor
from lenet.corrections import CARD_NAME, Correction, CorrectionsError, CorrectionStore, load_corrections

from .conftest import run_lenet
from .hubserver import HubServer

TOKEN = "hf_" + secrets.token_hex(16)
DATASET = "tester/corrections"


@functools.cache
def shipped() -> Predictor:
    return Predictor.from_checkpoint()


def correction(levels: np.ndarray, label: int) -> Correction:
    """A correction of one 28x28 digit, as the app makes it: the model's top 3 from the digit itself."""
    pixels = torch.from_numpy(levels.astype(np.float32) / 255).view(1, 1, 28, 28)
    top = shipped().top_k(shipped().probabilities(pixels)[0])
    return Correction(levels, Image.fromarray(255 - levels).resize((300, 300)), label, top, None, "0" * 16)


def relabelled_ones(mnist_test, count: int) -> list[Correction]:
    """`count` MNIST test 1s, each "corrected" to a 7: answers the shipped model gets right, so a
    model that learns these corrections visibly changes its predictions on them."""
    images, labels = mnist_test
    ones = images[labels == 1][:count].numpy()
    return [correction(levels, 7) for levels in ones]


def test_the_folder_is_a_dataset_the_hub_loads(tmp_path, mnist_test):
    datasets = pytest.importorskip("datasets", reason="datasets is in requirements-dev.txt")
    images, labels = mnist_test
    store = CorrectionStore(tmp_path / "corrections")
    saved = [correction(images[i].numpy(), int(labels[i] + 1) % 10) for i in range(3)]
    for item in saved:
        store.save(item)
    card = (tmp_path / "corrections" / CARD_NAME).read_text()
    assert card.startswith("---\n") and "image-classification" in card and "Nothing that identifies" in card

    loaded = datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "corrections"))["train"]
    assert loaded.num_rows == 3
    assert set(loaded.column_names) == {
        "input", "original", "label", "predictions", "model_repo", "model_revision", "created"
    }  # fmt: skip
    rows = sorted(loaded, key=lambda row: np.asarray(row["input"]).tobytes())
    expected = sorted(saved, key=lambda item: item.levels.tobytes())
    for row, item in zip(rows, expected, strict=True):
        assert np.array_equal(np.asarray(row["input"]), item.levels)  # the model's input, exactly
        assert row["label"] == item.label and max(row["original"].size) == 256
        assert [p["label"] for p in row["predictions"]] == [label for label, _ in item.predictions]

    # Read back for training: the same digits and labels.
    found = load_corrections(tmp_path / "corrections")
    assert found.skipped == 0 and sorted(found.labels.tolist()) == sorted(item.label for item in saved)


def test_bounds_and_bad_rows(tmp_path, mnist_test):
    images, _ = mnist_test
    now = [1000.0]
    store = CorrectionStore(tmp_path, per_hour=2, max_rows=3, clock=lambda: now[0])
    digit = images[0].numpy()
    store.save(correction(digit, 1))
    store.save(correction(digit, 2))
    with pytest.raises(CorrectionsError, match="this hour"):
        store.save(correction(digit, 3))
    now[0] += 3601  # an hour later
    store.save(correction(digit, 3))
    # A restart (a new store on the same folder) counts what is already there.
    with pytest.raises(CorrectionsError, match="full"):
        CorrectionStore(tmp_path, max_rows=3).save(correction(digit, 4))
    with pytest.raises(CorrectionsError, match="0-9"):
        CorrectionStore(tmp_path).save(correction(digit, 12))
    with pytest.raises(CorrectionsError, match="0-9"):
        CorrectionStore(tmp_path).save(correction(digit, True))  # a bool is not a digit
    # One sender is bounded on its own, below everyone's together.
    shared = CorrectionStore(tmp_path / "senders", per_sender_hour=2, clock=lambda: now[0])
    shared.save(correction(digit, 1), sender="10.0.0.1")
    shared.save(correction(digit, 2), sender="10.0.0.1")
    with pytest.raises(CorrectionsError, match="one sender"):
        shared.save(correction(digit, 3), sender="10.0.0.1")
    shared.save(correction(digit, 3), sender="10.0.0.2")

    # Rows that name a file outside the folder, a missing or wrong-sized image, or a bad label, and
    # lines that are not JSON, are skipped when reading; a folder with none at all is an error.
    folder = tmp_path / "hand-edited"
    bad = folder / "data" / "run"
    bad.mkdir(parents=True)
    Image.new("L", (10, 10)).save(bad / "small.png")
    Image.new("L", (28, 28)).save(bad / "good.png")
    Image.new("L", (28, 28)).save(tmp_path / "secret.png")  # a readable 28x28 outside the folder
    rows = [
        {"input_file_name": "../../../secret.png", "label": 1},
        {"input_file_name": "missing.png", "label": 1},
        {"input_file_name": "small.png", "label": 1},
        {"input_file_name": "good.png", "label": "7"},
        {"input_file_name": "good.png", "label": True},
        {"input_file_name": "good.png", "label": 7},  # the one good row
    ]
    (bad / "metadata.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\nnot json\n")
    found = load_corrections(folder)
    assert len(found.labels) == 1 and found.skipped == 6
    with pytest.raises(CorrectionsError, match="no corrections found"):
        load_corrections(tmp_path / "empty")


PUSH = """
import json, sys, time
import numpy as np
from PIL import Image
from lenet.corrections import Correction, CorrectionStore
from lenet.hub.corrections import push_on_schedule
folder, repo = sys.argv[1:3]
scheduler = push_on_schedule(folder, repo, every_minutes=60)  # a batch per hour: pushed below, by hand
# CommitScheduler pushes once as it starts, in its thread: let that finish (nothing to push yet), or
# it may take the first correction saved below into a commit of its own.
while getattr(scheduler, "last_future", None) is None:  # set by the thread
    time.sleep(0.01)
scheduler.last_future.result()
store = CorrectionStore(folder, lock=scheduler.lock)
for label in (3, 5, 8):
    levels = np.zeros((28, 28), np.uint8)
    levels[6:22, 12:16] = 255
    store.save(Correction(levels, Image.fromarray(levels), label, [("1", 0.9), ("7", 0.05), ("4", 0.01)], None, "x"))
scheduler.trigger().result()  # what the timer does: one commit for everything new
scheduler.stop()
print(json.dumps({"rows": store.rows}))
"""


FULL_DISK = """
import resource, signal, sys
import numpy as np
from PIL import Image
from lenet.corrections import Correction, CorrectionStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of ending us
store = CorrectionStore(sys.argv[1])
def correction(label):
    top = [("1", 0.9), ("7", 0.05), ("4", 0.01)]
    return Correction(np.full((28, 28), 9 * label, np.uint8), Image.new("L", (8, 8)), label, top, None, "0" * 16)
store.save(correction(1))
rows = store.run / "metadata.jsonl"
# The second row fits only in part, as on a disk with a few bytes left.
resource.setrlimit(resource.RLIMIT_FSIZE, (rows.stat().st_size + 50, resource.RLIM_INFINITY))
try:
    store.save(correction(2))
    print("saved")
except OSError as err:
    print("refused", err.errno)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
store.save(correction(3))
"""


def test_a_full_disk_leaves_no_torn_row_and_no_stray_image(tmp_path, cli_env):
    """A row cut short by a full disk was joined to the next one ({"input_file_nam{"input_file_name":
    ...): that correction was lost, and the Hub could not load the dataset at all. Now a failed save
    leaves nothing behind, and the next one is whole."""
    folder = tmp_path / "corrections"
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(folder)], env=cli_env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split()[0] == "refused", done.stderr[-2000:]
    (rows,) = folder.rglob("metadata.jsonl")
    lines = rows.read_text().splitlines()
    assert [json.loads(line)["label"] for line in lines] == [1, 3]
    named = {json.loads(line)[key] for line in lines for key in ("input_file_name", "original_file_name")}
    assert {path.name for path in rows.parent.glob("*.png")} == named  # no image without its row
    corrections = load_corrections(folder)
    assert corrections.labels.tolist() == [1, 3] and corrections.skipped == 0


SILENT_HUB = """
import sys, time
from lenet.hub import bound_hub_waits
from lenet.hub.corrections import open_corrections
bound_hub_waits(connect=2, read=2)  # as app.py does, with the test's patience
start = time.perf_counter()
store = open_corrections(sys.argv[1], "someone/corrections")
print(type(store).__name__, round(time.perf_counter() - start, 1))
"""


def test_a_hub_that_never_answers_does_not_keep_the_app_from_starting(tmp_path, cli_env):
    """A Hub that takes the connection and says nothing: huggingface_hub waited for ever, and the
    app, which creates its corrections' CommitScheduler as it loads, had not started 11 minutes on.
    Now the wait ends, and corrections stay on local disk."""
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the backlog), never answers
    env = {
        **cli_env,
        "HF_HUB_OFFLINE": "0",
        "HF_TOKEN": "hf_test",
        "HF_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", SILENT_HUB, str(tmp_path / "corrections")],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        silent.close()
    kind, seconds = done.stdout.split()
    assert kind == "CorrectionStore" and float(seconds) < 30, done.stderr[-2000:]
    assert "not pushed" in done.stderr


def test_corrections_reach_the_hub_in_one_batched_commit_and_train_from_there(tmp_path, cli_env):
    with HubServer(TOKEN) as hub:
        env = {**cli_env, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf-home")}
        folder = tmp_path / "corrections"
        run = subprocess.run(
            [sys.executable, "-c", PUSH, str(folder), DATASET], env=env, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
        assert json.loads(run.stdout)["rows"] == 3
        repo = hub.state.repos[("dataset", DATASET)]
        assert repo.private  # people's drawings: private until the owner says otherwise
        created, *pushed = repo.log  # the repo's first commit holds only its .gitattributes
        assert set(repo.commits[created]) == {".gitattributes"}
        assert len(pushed) == 1, repo.log  # three corrections, one commit
        files = hub.files("dataset", DATASET)
        assert sorted(row["label"] for row in hub.rows("dataset", DATASET)) == [3, 5, 8]
        assert len([name for name in files if name.endswith(".png")]) == 6 and CARD_NAME in files
        assert not [request for request in hub.state.requests if TOKEN in request]

        # Evaluating on the repo downloads it: the CLI reports the corrections beside MNIST.
        evaluate = run_lenet(env, "evaluate", "--data", DATASET, "--json")
        summary = json.loads(evaluate.stdout)
        assert summary["corrections"]["images"] == 3 and summary["accuracy"] > 0.99

    # A repo id that is not one, or a Hub that refuses: the app starts anyway, saving locally.
    from lenet.hub.corrections import open_corrections

    assert open_corrections(tmp_path / "local", "not a repo id!") is not None


def test_training_on_corrections_changes_those_predictions(tmp_path, cli_env, mnist_test):
    """The smoke recipe with 16 relabelled 1s mixed in: the shipped model reads them as 1s, the
    trained one mostly as the corrections say; both figures, and MNIST's, are reported."""
    store = CorrectionStore(tmp_path / "corrections")
    for item in relabelled_ones(mnist_test, 16):
        store.save(item)
    shipped = run_lenet(cli_env, "evaluate", "--data", str(tmp_path / "corrections"), "--json")
    assert json.loads(shipped.stdout)["corrections"]["accuracy"] == 0  # every one read as the 1 it is

    out = tmp_path / "smoke"
    train = run_lenet(
        cli_env, "train", "--recipe", "train/smoke.toml", "--out", str(out),
        "--extra-data", str(tmp_path / "corrections"), "--extra-weight", "0.05",
    )  # fmt: skip
    assert "corrections:" in train.stdout and "MNIST test" in train.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["extra_data"]["images"] == 16 and metrics["extra_data"]["weight"] == 0.05
    assert metrics["extra_data"]["accuracy"] >= 0.8, metrics["extra_data"]
    assert metrics["test_accuracy"] > 0.9  # MNIST, reported beside
    again = run_lenet(cli_env, "evaluate", "--checkpoint", str(out), "--data", str(tmp_path / "corrections"))
    assert "on 16 corrections" in again.stdout, again.stdout


def test_finetune_recipe_starts_from_the_shipped_weights(tmp_path, cli_env, mnist_test):
    store = CorrectionStore(tmp_path / "corrections")
    for item in relabelled_ones(mnist_test, 4):
        store.save(item)
    run = run_lenet(
        cli_env, "train", "--recipe", "train/finetune.toml", "--dry-run", "--extra-data", str(tmp_path / "corrections")
    )
    assert "starting from the weights in checkpoints/lenet5" in run.stdout
    assert "mixing in 4 corrections" in run.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--extra-data", "no/such-folder-or-repo"], "error: "),
        (["--extra-data", "not a repo id!"], "neither a folder nor a dataset repo id"),
        (["--extra-data", ".", "--extra-weight", "1.5"], "--extra-weight must be between 0 and 1"),
    ],
)
def test_bad_extra_data_is_one_line(tmp_path, cli_env, args, message):
    env = {**cli_env, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    run = run_lenet(env, "train", "--recipe", "train/smoke.toml", "--dry-run", *args, expect=2)
    assert message in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_an_empty_folder_is_not_corrections(tmp_path, cli_env):
    run = run_lenet(cli_env, "evaluate", "--data", str(tmp_path), expect=2)
    assert "no corrections found" in run.stderr, run.stderr
