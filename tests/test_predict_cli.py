"""`python -m lenet predict`: MNIST test digits saved as image files, bad files as JSON error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

DIGITS = 30  # the first 30 MNIST test digits


def run_predict(files, env, *extra):
    command = [sys.executable, "-m", "lenet", "predict", *map(str, files), "--json", *extra]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory, mnist_test):
    """Each of the first test digits as: 28x28 white on black, 112x112 black on white, 300x300 JPEG."""
    folder = tmp_path_factory.mktemp("digits")
    images, labels = mnist_test
    files, truth = [], []
    for i in range(DIGITS):
        digit = Image.fromarray(images[i].numpy())
        variants = {
            f"{i}-white-on-black.png": digit,
            f"{i}-black-on-white-112.png": Image.fromarray(255 - images[i].numpy()).resize((112, 112), Image.BICUBIC),
            f"{i}-black-on-white-300.jpg": Image.fromarray(255 - images[i].numpy()).resize((300, 300), Image.BICUBIC),
        }
        for name, image in variants.items():
            image.save(folder / name)
            files.append(folder / name)
            truth.append(str(int(labels[i])))
    return files, truth


def test_cli_predicts_mnist_digits_in_both_polarities_and_sizes(digit_files, cli_env):
    files, truth = digit_files
    result, lines = run_predict(files, cli_env)
    assert result.returncode == 0, result.stderr
    assert [line["file"] for line in lines] == [str(f) for f in files]
    wrong = [(line["file"], line["predictions"][0]["label"], t) for line, t in zip(lines, truth, strict=True)]
    wrong = [w for w in wrong if w[1] != w[2]]
    assert not wrong, wrong
    for line in lines:
        assert set(line) == {"file", "predictions"}
        top = line["predictions"]
        assert len(top) == 3 and [set(p) for p in top] == [{"label", "probability"}] * 3
        probabilities = [p["probability"] for p in top]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1.0001


def test_cli_reports_unreadable_files_and_goes_on(tmp_path, digit_files, cli_env):
    good = digit_files[0][0]
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:120])
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    missing = tmp_path / "missing.png"
    folder = tmp_path / "folder.png"
    folder.mkdir()
    pipe = tmp_path / "pipe.png"  # a FIFO with no writer: opening it to read would wait forever
    os.mkfifo(pipe)
    files = [text, good, empty, truncated, blank, missing, folder, pipe]
    result, lines = run_predict(files, cli_env, "--top", "2")
    assert result.returncode == 1
    assert [line["file"] for line in lines] == [str(f) for f in files]
    assert len(lines[1]["predictions"]) == 2
    errors = {line["file"]: line.get("error") for line in lines}
    assert "not an image" in errors[str(text)]
    assert "empty" in errors[str(empty)]
    assert "truncated" in errors[str(truncated)] or "damaged" in errors[str(truncated)]
    assert "no digit found" in errors[str(blank)]
    assert "no such file" in errors[str(missing)]
    assert "is a directory" in errors[str(folder)]
    assert "not a regular file" in errors[str(pipe)]
    for file in (text, empty, truncated, missing, folder, pipe):  # the line names the file: its message does not again
        assert not errors[str(file)].startswith(file.name), errors[str(file)]
    assert "Traceback" not in result.stderr


def test_cli_human_output_and_bad_checkpoint(tmp_path, digit_files, cli_env):
    good = digit_files[0][0]
    result = subprocess.run(
        [sys.executable, "-m", "lenet", "predict", str(good)], env=cli_env, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith(f"{good}: 7 (")
    result = subprocess.run(
        [sys.executable, "-m", "lenet", "predict", str(good), "--checkpoint", str(tmp_path / "nowhere")],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: checkpoint folder {tmp_path / 'nowhere'} not found"


def test_wrong_models_and_outputs_get_one_line_not_a_traceback(tmp_path, digit_files, cli_env):
    """From a review as an ML engineer: the piece reader taken for a digit classifier answered "10"
    among its guesses; export-onnx to a folder, and a push dry run into a file, ended in tracebacks."""
    good = digit_files[0][0]
    (tmp_path / "a-file").write_text("x")
    runs = {
        ("predict", str(good), "--checkpoint", "checkpoints/lenet5-pieces"): "not a digit classifier",
        ("export-onnx", "--out", str(tmp_path)): "is a folder",
        ("export-onnx", "--out", str(tmp_path / "a-file" / "model.onnx")): "cannot make the folder",
        ("push", "--repo-id", "a/b", "--dry-run", "--out", str(tmp_path / "a-file")): "is a file",
    }
    for command, said in runs.items():
        result = subprocess.run(
            [sys.executable, "-m", "lenet", *command], env=cli_env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr, (command, result.stderr[-300:])
        assert len(result.stderr.strip().splitlines()) == 1 and said in result.stderr, (command, result.stderr)


def test_the_python_api_refuses_what_it_cannot_use():
    """Predictor: a 10-class model or a line reader as the piece reader (it read 7309 as 73067, or
    failed deep inside), a readers' folder that is not there (ignored), a tensor to predict
    (Pillow's "no attribute 'read'")."""
    import torch

    from lenet import ImageError, Predictor
    from lenet.checkpoint import CheckpointError

    for pieces in ("checkpoints/lenet5", "checkpoints/lenet5-lines"):
        with pytest.raises(ValueError, match="piece reader must be"):
            Predictor.from_checkpoint(pieces=pieces)
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        Predictor.from_checkpoint(lines="checkpoints/lenet5-line")
    with pytest.raises(ImageError, match="cannot read an image from a Tensor"):
        Predictor.from_checkpoint().predict(torch.zeros(28, 28))


def test_every_flag_says_its_default_or_that_it_is_required():
    """The module's promise: each option of each command has help text that names its default (or says
    it is required), so `--help` alone tells what a bare command does."""
    import argparse

    from lenet.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    unsaid = [
        f"{name} {action.option_strings[-1]}"
        for name, command in commands.choices.items()
        for action in command._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
        if not action.help or not any(word in action.help for word in ("default", "required"))
    ]
    assert not unsaid, unsaid
