"""PredictorPool: worker processes give the same answers as Predictor, and survive crashes and hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from PIL import Image

import lenet.serving.pool as pool_module
from lenet import DEFAULT_CHECKPOINT, ImageError, NoDigitError, Predictor, load_model
from lenet.serving.pool import PredictorPool, WorkerError, make_predictor
from testkit.render import draw, photo_bytes

from .conftest import ROOT, children_running, wait_gone

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.suffix in (".png", ".jpg"))


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_CHECKPOINT)


@pytest.fixture(scope="module")
def pool(model):
    pool = PredictorPool(model, workers=2)
    yield pool
    pool.close()


def test_the_pool_answers_exactly_as_the_predictor_does(pool, model, tmp_path):
    predictor = Predictor(model)
    layer = tmp_path / "layer.png"
    draw(Image.new("RGBA", (400, 400), (0, 0, 0, 0)), 4, (80, 60, 260), 18, (37, 99, 235, 255)).save(layer)
    sources = [
        *EXAMPLES,  # paths: drawn PNGs and photos
        str(EXAMPLES[0]),  # a path as a string, as Gradio hands it over
        photo_bytes(4, shadow=True, seed=3),  # bytes
        {"background": None, "layers": [layer], "composite": None},  # a Sketchpad value, layer as a path
        {"background": None, "layers": [layer.read_bytes()], "composite": None},  # the layer streamed as bytes
    ]
    for source in sources:
        ours, theirs = pool.predict(source, k=3), predictor.predict(source, k=3)
        assert ours.top == theirs.top, source
        assert torch.equal(ours.model_input.pixels, theirs.model_input.pixels), source
        assert ours.model_input.preview.tobytes() == theirs.model_input.preview.tobytes()


def test_numbers_are_read_in_the_workers_as_in_process(model, tmp_path):
    """With the piece and line readers, a pool reads numbers as Predictor.read_number does: digits,
    boxes, inputs; spaced digits, and touching ones, which the line reader counts and reads."""
    from lenet.predict import DEFAULT_LINES, DEFAULT_PIECES
    from testkit.render import encode

    from .test_numbers import touching

    pieces, lines = load_model(DEFAULT_PIECES), load_model(DEFAULT_LINES)
    canvas = Image.new("RGBA", (700, 260), (0, 0, 0, 0))
    for i, label in enumerate((7, 4, 1)):
        draw(canvas, label, (40 + 220 * i, 40, 180), 16, (20, 20, 20, 255))
    numbers = {"741": encode(canvas), "4710": encode(touching("4710", into=4))}
    pool = PredictorPool(model, workers=1, pieces=pieces, lines=lines)
    in_process = Predictor(model, pieces, lines)
    try:
        readings = {truth: (pool.read_number(data), in_process.read_number(data)) for truth, data in numbers.items()}
        with pytest.raises(NoDigitError):
            pool.read_number(encode(Image.new("RGBA", (300, 100), (0, 0, 0, 0))))
        assert pool.predict(numbers["741"]).top == Predictor(model).predict(numbers["741"]).top  # digits still served
    finally:
        pool.close()
    for truth, (ours, theirs) in readings.items():
        assert ours.number == theirs.number == truth and ours.confidence == pytest.approx(theirs.confidence)
        for mine, reference in zip(ours.digits, theirs.digits, strict=True):
            assert mine.box == reference.box and mine.top == reference.top
            assert (mine.model_input.levels == reference.model_input.levels).all()


def test_bad_input_gets_the_same_message_through_the_pool(pool, model, tmp_path):
    predictor = Predictor(model)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    cases = [None, text, b"", tmp_path / "missing.png", {"background": None, "layers": [], "composite": None}]
    for source in cases:
        with pytest.raises((ImageError, NoDigitError)) as ours:
            pool.predict(source)
        with pytest.raises((ImageError, NoDigitError)) as theirs:
            predictor.predict(source)
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
    with pytest.raises(TypeError, match="file paths, bytes or Sketchpad values"):
        pool.predict(Image.new("L", (28, 28)))


def test_a_bug_in_a_worker_is_a_worker_error_that_keeps_its_text_in(pool, monkeypatch):
    """An exception the pipeline does not expect (a bug) reaches the caller as a WorkerError, whose
    message the app shows, without the exception's own text (it may name server files); the worker
    goes on serving. Here the parent sends a source the worker cannot unpack (a KeyError there)."""
    monkeypatch.setattr(pool_module, "_pack", lambda item, blobs: {"secret": "/srv/private/key.png"})
    for _ in range(3):  # both workers, one twice
        with pytest.raises(WorkerError, match="failed inside the app") as err:
            pool.predict(b"anything")
        assert "private" not in str(err.value) and "KeyError" not in str(err.value)
    monkeypatch.undo()
    assert pool.predict(EXAMPLES[0]).label == EXAMPLES[0].stem[-1]


def test_a_worker_killed_while_idle_is_replaced_unnoticed(pool):
    before = pool.pids
    assert len(before) == 2 and set(before) <= set(children_running("lenet.serving.pool"))  # real processes
    for pid in before:
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid)
    for example in EXAMPLES[:4]:
        assert pool.predict(example).label == example.stem[-1]
    after = pool.pids
    assert len(after) == 2 and not set(after) & set(before)
    assert set(after) <= set(children_running("lenet.serving.pool"))


def test_a_worker_that_hangs_or_dies_mid_request_costs_one_answer(pool):
    photo = ROOT / "examples" / "photo-2.jpg"
    pool.timeout = 0.001  # no prediction is that fast: the worker counts as hung and is replaced
    try:
        with pytest.raises(WorkerError, match=r"took over 0\.001 s"):
            pool.predict(photo)
    finally:
        pool.timeout = 10
    assert pool.predict(photo).label == "2"  # the replacement answers

    # A worker that dies while reading the image: stop it (SIGSTOP) so the request is surely in
    # flight, then kill it; the caller gets a WorkerError at once, the next call an answer.
    victim = pool.pids
    for pid in victim:
        os.kill(pid, signal.SIGSTOP)
    killer_delay = 0.5
    start = time.monotonic()

    def kill_later():
        time.sleep(killer_delay)
        for pid in victim:
            os.kill(pid, signal.SIGKILL)

    threading.Thread(target=kill_later, daemon=True).start()
    with pytest.raises(WorkerError, match="stopped"):
        pool.predict(photo)
    assert killer_delay <= time.monotonic() - start < 5
    assert pool.predict(photo).label == "2"
    assert pool.predict(ROOT / "examples" / "drawn-3.png").label == "3"


def test_workers_get_the_parents_weights_not_a_file(model, tmp_path):
    """A model that exists nowhere on disk (fresh random weights) is what the workers serve."""
    from lenet import LeNet5

    torch.manual_seed(0)
    untrained = LeNet5(model.config)
    pool = PredictorPool(untrained, workers=1)
    try:
        example = ROOT / "examples" / "photo-0.jpg"
        assert pool.predict(example).top == Predictor(untrained).predict(example).top
    finally:
        pool.close()


def test_the_app_predicts_in_its_own_process_when_workers_cannot_start(monkeypatch):
    """make_predictor falls back to a Predictor in this process; here each worker exits at once, as
    one that cannot import torch or is refused memory would."""
    real_popen = subprocess.Popen

    def exits_at_once(command, **options):
        return real_popen([sys.executable, "-c", "pass"], **options)

    monkeypatch.setattr(pool_module.subprocess, "Popen", exits_at_once)
    predictor = make_predictor(load_model(DEFAULT_CHECKPOINT), workers=2)
    assert type(predictor) is Predictor
    assert predictor.predict(ROOT / "examples" / "photo-7.jpg").label == "7"
