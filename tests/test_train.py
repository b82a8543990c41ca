"""Training on the real MNIST files: the smoke recipe learns, and a killed run resumes to the same weights."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from lenet.checkpoint import (
    STATE_DIR,
    STATE_FILE,
    CheckpointError,
    load_model,
    read_metrics,
    read_training_progress,
    save_checkpoint,
)
from lenet.model import LeNet5
from lenet.predict import DEFAULT_CHECKPOINT
from lenet.training.recipe import OptimConfig, Recipe, RecipeError
from lenet.training.train import evaluate, learning_rate, train

from .conftest import ROOT

SMOKE = ROOT / "train" / "smoke.toml"


def test_smoke_run_beats_90_percent_in_seconds(tmp_path, data_dir, mnist_test):
    recipe = Recipe.from_toml(SMOKE)
    start = time.perf_counter()
    metrics = train(recipe, out=tmp_path / "smoke", data_dir=data_dir, log=lambda *_: None)
    seconds = time.perf_counter() - start
    assert metrics["test_accuracy"] > 0.90, metrics["test_accuracy"]
    assert seconds < 120, f"the smoke run took {seconds:.0f} s"
    # The written checkpoint is the trained model: re-evaluating it reproduces the reported figure.
    model = load_model(tmp_path / "smoke")
    images, labels = mnist_test
    again = evaluate(model, images[: recipe.test_subset], labels[: recipe.test_subset], torch.device("cpu"))
    assert again["accuracy"] == metrics["test_accuracy"]
    written = json.loads((tmp_path / "smoke" / "metrics.json").read_text())
    assert written["test_accuracy"] == metrics["test_accuracy"]
    assert (written["epochs"], written["seed"], written["torch"]) == (recipe.epochs, recipe.seed, torch.__version__)
    assert 0 < written["wall_seconds"] <= seconds
    confusion = torch.tensor(written["confusion_matrix"])
    per_class = (confusion.diag() / confusion.sum(1)).tolist()
    assert written["per_class_accuracy"] == pytest.approx(per_class, abs=1e-4)
    assert [h["epoch"] for h in written["history"]] == list(range(1, recipe.epochs + 1))
    trained = sum(h["images"] for h in written["history"])
    assert trained == recipe.epochs * recipe.train_subset
    assert written["images_per_s"] == pytest.approx(trained / sum(h["seconds"] for h in written["history"]), rel=0.01)
    assert sum(map(sum, written["confusion_matrix"])) == recipe.test_subset
    assert not (tmp_path / "smoke" / STATE_DIR).exists()


def test_learning_rate_warms_up_then_decays():
    optim = OptimConfig(lr=1.0, warmup=0.1, final_lr=0.01)
    rates = [learning_rate(step, 100, optim) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and max(rates) == pytest.approx(1.0)
    assert rates.index(max(rates)) == 9
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))
    assert rates[-1] == pytest.approx(0.01, abs=1e-3)


def test_recipe_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nepochz = 3\n')
    with pytest.raises(RecipeError, match=r"unknown key.*epochz"):
        Recipe.from_toml(bad)
    bad.write_text('name = "x"\nepochs = "ten"\n')
    with pytest.raises(RecipeError, match="epochs must be a number"):
        Recipe.from_toml(bad)
    bad.write_text("name = \n")
    with pytest.raises(RecipeError, match="not valid TOML"):
        Recipe.from_toml(bad)
    with pytest.raises(RecipeError, match="not found"):
        Recipe.from_toml(tmp_path / "missing.toml")


def test_kill_during_training_then_resume_matches_an_uninterrupted_run(tmp_path, cli_env):
    recipe = replace(Recipe.from_toml(SMOKE), epochs=3, train_subset=3000, test_subset=500)
    recipe_file = tmp_path / "resume.toml"
    recipe_file.write_text(_to_toml(recipe))
    command = [sys.executable, "-m", "lenet", "train", "--recipe", str(recipe_file), "--threads", "1"]

    subprocess.run([*command, "--out", str(tmp_path / "straight")], env=cli_env, check=True, capture_output=True)

    killed = tmp_path / "killed"
    process = subprocess.Popen([*command, "--out", str(killed)], env=cli_env, stderr=subprocess.DEVNULL)
    state = killed / STATE_DIR / STATE_FILE
    deadline = time.monotonic() + 120
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    completed_epoch = read_training_progress(killed)["epoch"] + 1
    assert completed_epoch < recipe.epochs
    # Not with another recipe (here a shorter one, which would end the run at once), nor as a dry
    # run: either would replace the unfinished run's state. Both refused, the state kept.
    shorter = tmp_path / "shorter.toml"
    shorter.write_text(_to_toml(replace(recipe, epochs=completed_epoch)))
    for refused, says in (
        (
            [sys.executable, "-m", "lenet", "train", "--recipe", str(shorter), "--resume"],
            "another run's (epochs differ)",
        ),
        ([*command, "--resume", "--dry-run"], "--dry-run does not resume"),
        ([*command, "--dry-run"], "unfinished run's training state"),
        (command, "holds an unfinished run"),  # started over without --resume: it was discarded unsaid
    ):
        result = subprocess.run([*refused, "--out", str(killed)], env=cli_env, capture_output=True, text=True)
        assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert read_training_progress(killed)["epoch"] + 1 == completed_epoch

    resumed = subprocess.run(
        [*command, "--out", str(killed), "--resume"], env=cli_env, check=True, capture_output=True, text=True
    )
    assert f"resuming {recipe.name} after epoch {completed_epoch}" in resumed.stdout
    straight = load_file(str(tmp_path / "straight" / "model.safetensors"))
    again = load_file(str(killed / "model.safetensors"))
    assert straight.keys() == again.keys()
    for key in straight:
        torch.testing.assert_close(again[key], straight[key], rtol=1e-5, atol=1e-6, msg=key)
    history = json.loads((killed / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    # A dry run into the finished checkpoint would replace it with an untrained one: refused, kept.
    result = subprocess.run([*command, "--dry-run", "--out", str(killed)], env=cli_env, capture_output=True, text=True)
    assert result.returncode == 2 and "holds a trained checkpoint" in result.stderr, result.stderr
    torch.testing.assert_close(load_file(str(killed / "model.safetensors"))[key], again[key])


def _to_toml(recipe: Recipe) -> str:
    """A minimal TOML writer for the flat recipe tables (tomllib reads but does not write)."""

    def line(key, value):
        return f"{key} = {json.dumps(value)}"

    data = recipe.to_dict()
    tables = {key: data.pop(key) for key in ("model", "optim", "augment")}
    text = [line(k, v) for k, v in data.items()]
    for table, values in tables.items():
        text += [f"[{table}]", *(line(k, v) for k, v in values.items())]
    return "\n".join(text) + "\n"


def test_dry_run_checks_the_wiring_and_writes_nothing(cli_env):
    shipped = ROOT / "checkpoints" / "lenet5" / "model.safetensors"
    before = shipped.stat().st_mtime_ns
    result = subprocess.run(
        [sys.executable, "-m", "lenet", "train", "--recipe", str(ROOT / "train" / "lenet5.toml"), "--dry-run"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch   1/1" in result.stdout and "dry run: checkpoint written to a temporary folder" in result.stdout
    assert shipped.stat().st_mtime_ns == before


def test_train_cli_reports_a_bad_recipe_without_a_traceback(tmp_path, cli_env):
    result = subprocess.run(
        [sys.executable, "-m", "lenet", "train", "--recipe", str(tmp_path / "nope.toml")],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: recipe {tmp_path / 'nope.toml'} not found"


@pytest.mark.parametrize("recipe_file", sorted((ROOT / "train").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_recipe_parses_into_a_model(recipe_file):
    """Each recipe in train/ is valid: typed, and its [model] builds a LeNet-5 of the expected size."""
    recipe = Recipe.from_toml(recipe_file)
    assert recipe.name == recipe_file.stem and recipe.epochs >= 1
    if recipe.model.line_hidden:  # the line reader: wider convolutions and a GRU over their columns
        assert 300_000 < LeNet5(recipe.model).num_parameters() < 330_000
    else:
        assert 60_000 < LeNet5(recipe.model).num_parameters() < 65_000


def test_a_line_reader_recipe_trains_through_the_cli_and_is_refused_half_made(tmp_path, cli_env):
    """train/lines.toml's dry run draws real lines of MNIST digits, trains with CTC and writes a line
    reader that loads back; a recipe with lines but no line head (or the reverse) is refused."""
    out = tmp_path / "lines"
    run = [sys.executable, "-m", "lenet", "train", "--recipe", str(ROOT / "train" / "lines.toml"), "--dry-run"]
    result = subprocess.run([*run, "--out", str(out)], env=cli_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ctc loss" in result.stdout and "test lines (MNIST test digits)" in result.stdout
    model, metrics = load_model(out), read_metrics(out)
    assert model.config.line_hidden == 128 and metrics["recipe"] == "lines" and metrics["dry_run"] is True
    assert set(metrics["test_line_accuracy_by_kind"]) == {"touching", "tight", "spaced"}
    for bad in ("lines = 100\n", "[model]\nnum_classes = 11\nline_hidden = 8\n"):
        recipe = tmp_path / "half.toml"
        recipe.write_text('name = "half"\n' + bad)
        with pytest.raises(RecipeError, match="line reader needs both"):
            Recipe.from_toml(recipe)


def test_a_cache_file_that_does_not_hold_what_make_gives_is_made_again(tmp_path):
    """cached_tensors: a damaged file, or one with other names, shapes or types than `valid` wants,
    is never returned: made again and replaced; a good one is read back without calling make()."""
    from safetensors.torch import save_file

    from lenet.training.data import cached_tensors

    calls = []

    def make() -> dict[str, torch.Tensor]:
        calls.append(1)
        return {"images": torch.arange(6, dtype=torch.uint8).reshape(2, 3)}

    def valid(tensors: dict[str, torch.Tensor]) -> bool:
        images = tensors.get("images")
        return images is not None and images.shape == (2, 3) and images.dtype == torch.uint8

    path = tmp_path / "key.safetensors"
    save_file({"images": torch.zeros(5, 5)}, str(path))  # another shape and type under the same key
    assert cached_tensors("key", make, tmp_path, valid)["images"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert len(calls) == 1 and load_file(str(path))["images"].shape == (2, 3)  # replaced
    assert cached_tensors("key", make, tmp_path, valid)["images"].shape == (2, 3) and len(calls) == 1
    path.write_bytes(b"not a safetensors file")
    assert cached_tensors("key", make, tmp_path, valid)["images"].shape == (2, 3) and len(calls) == 2


def test_a_run_never_replaces_a_folder_that_is_not_a_checkpoint(tmp_path, cli_env):
    """--out naming a folder with other files in it (or a file, or a path under a file) is refused
    before training: saving replaces the whole folder, and it deleted a user's notes."""
    notes = tmp_path / "mine"
    (notes / "sub").mkdir(parents=True)
    (notes / "notes.txt").write_text("precious")
    (tmp_path / "file.txt").write_text("a file")
    command = [sys.executable, "-m", "lenet", "train", "--recipe", str(SMOKE), "--dry-run", "--threads", "1"]
    for out, says in (
        (notes, "holds other files than a checkpoint's (notes.txt, sub)"),
        (tmp_path / "file.txt" / "run", "is a file"),
    ):
        result = subprocess.run([*command, "--out", str(out)], env=cli_env, capture_output=True, text=True)
        assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert (notes / "notes.txt").read_text() == "precious" and (notes / "sub").is_dir()
    with pytest.raises(CheckpointError, match="holds other files"):
        save_checkpoint(load_model(DEFAULT_CHECKPOINT), notes, {})


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("epochs = 0", "epochs must be between 1 and"),
        ("batch_size = -5", "batch_size must be between 1 and"),
        ("val_size = 70000", "val_size must be between 1 and"),
        ("train_subset = -10", "train_subset must be between 0 and"),
        ('name = "/tmp/elsewhere"', "name must be a plain name"),
        ("name = 5", "name must be a string"),
        ('out = ""', "out must name a folder"),
        ("optim = 5", "optim must be a table"),
        ('optim = "x"', "optim must be a table"),
        ("model = [1, 2]", "model must be a table"),
        ("[optim]\nlr = -1", "lr must be between"),
        ("[optim]\nlabel_smoothing = 2.0", "label_smoothing must be between"),
        ("[augment]\nelastic_grid = 0", "elastic_grid must be between"),
        ("[augment]\nstroke = 2.0", "stroke must be between"),
        ('[model]\nmean = "x"', "mean must be a number"),
    ],
)
def test_recipe_values_out_of_range_are_refused_with_their_name(tmp_path, line, says):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(line + "\n")
    with pytest.raises(RecipeError, match=re.escape(says)):
        Recipe.from_toml(recipe)


def test_run_settings_that_cannot_work_are_one_line_errors(tmp_path, capsys):
    """Before any data is read: an --extra-weight out of range (it was ignored without
    --extra-data), a device this machine lacks, a device that does not exist."""
    from lenet.cli import main

    base = ["train", "--recipe", str(SMOKE), "--dry-run", "--out", str(tmp_path / "run")]
    for extra, says in (
        (["--extra-weight", "-5"], "--extra-weight must be between 0 and 1"),
        (["--device", "bogus"], "is not a device"),
        (["--device", "cuda:7"], "no such CUDA GPU"),
    ):
        assert main([*base, *extra]) == 2
        assert says in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
