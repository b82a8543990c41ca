"""`python -m lenet predict`: MNIST test digits saved as image files, bad files as JSON error lines."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lenet.predict import Predictor
from lenet.preprocess import ImageError, NoDigitError, preprocess

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
    files = [text, good, empty, truncated, blank, missing]
    result, lines = run_predict(files, cli_env, "--top", "2")
    assert result.returncode == 1
    assert [line["file"] for line in lines] == [str(f) for f in files]
    assert len(lines[1]["predictions"]) == 2
    errors = {line["file"]: line.get("error") for line in lines}
    assert "not an image" in errors[str(text)]
    assert "not an image" in errors[str(empty)]
    assert "truncated" in errors[str(truncated)] or "damaged" in errors[str(truncated)]
    assert "no digit found" in errors[str(blank)]
    assert "no such file" in errors[str(missing)]
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


def test_pipeline_keeps_mnist_accuracy(mnist_test):
    """Re-centring MNIST's own digits through the pipeline must not cost accuracy."""
    images, labels = mnist_test
    predictor = Predictor.from_checkpoint()
    count = 1000
    direct = predictor.probabilities(images[:count, None].float() / 255).argmax(1)
    piped = [int(predictor.predict(images[i].numpy()).label) for i in range(count)]
    direct_correct = int((direct == labels[:count]).sum())
    piped_correct = sum(p == int(t) for p, t in zip(piped, labels[:count], strict=True))
    assert piped_correct >= direct_correct - 2, (piped_correct, direct_correct)


def test_preview_is_the_tensor_the_model_sees(mnist_test):
    images, _ = mnist_test
    model_input = preprocess(255 - images[0].numpy())
    assert model_input.pixels.shape == (1, 28, 28)
    assert np.array_equal(np.asarray(model_input.preview, dtype=np.float32) / 255, model_input.pixels[0].numpy())


def test_transparent_strokes_are_read_from_alpha():
    """A stroke drawn on a transparent canvas: the colour under the transparency must not matter."""
    for background in (0, 255):
        canvas = np.zeros((200, 200, 4), dtype=np.uint8)
        canvas[..., :3] = background
        canvas[40:160, 95:105] = (20, 20, 20, 255)  # a vertical bar: a "1"
        model_input = preprocess(canvas)
        assert model_input.pixels.sum() > 10
        assert Predictor.from_checkpoint().predict(canvas).label == "1"


def test_blank_and_broken_inputs_raise_clear_errors():
    with pytest.raises(NoDigitError, match="no digit found"):
        preprocess(np.full((100, 100), 255, dtype=np.uint8))
    with pytest.raises(NoDigitError):
        preprocess(np.zeros((50, 50, 4), dtype=np.uint8))
    with pytest.raises(ImageError, match="not an image"):
        preprocess(b"GIF89a but not really")
    with pytest.raises(ImageError, match="shape"):
        preprocess(np.zeros((3, 4, 5, 6)))
