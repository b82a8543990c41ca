"""Every kind of file a public Space gets, through the library, the CLI and the app's endpoints.

Each one gets the right digit or a clear one-line message, never a traceback or a hang, within a
time bound. The files are made here: damaged, disguised, exotic formats, extreme sizes, blanks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from lenet import DEFAULT_CHECKPOINT, ImageError, NoDigitError, Predictor
from testkit.badfiles import NO_DIGIT, UNREADABLE, Case, digit_image, make_bad_files
from testkit.render import data_url

from .conftest import ROOT

# Every mode of Pillow's but the 16-bit ones (made from raw levels in the test) and the rarest.
PIL_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F")
SECONDS = 2.0  # every answer, from the 50-megapixel photo to the bomb, comes within this


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> list[Case]:
    return make_bad_files(tmp_path_factory.mktemp("bad-input"))


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_checkpoint(DEFAULT_CHECKPOINT)


def outcome_of(call) -> tuple[str, str]:
    """(the top label, UNREADABLE or NO_DIGIT; the message) of a library call."""
    try:
        return call().top[0][0], ""
    except ImageError as err:
        return UNREADABLE, str(err)
    except NoDigitError as err:
        return NO_DIGIT, str(err)


def test_library(cases, predictor):
    slow, wrong = [], []
    for case in cases:
        start = time.perf_counter()
        got, message = outcome_of(lambda case=case: predictor.predict(case.file))
        elapsed = time.perf_counter() - start
        if elapsed > SECONDS:
            slow.append((case.file.name, round(elapsed, 2)))
        if got != case.expect or case.says.lower() not in message.lower() or "\n" in message:
            wrong.append((case.file.name, case.expect, got, message))
    assert not wrong, wrong
    assert not slow, slow


def test_the_bomb_is_refused_from_its_header(cases, predictor):
    bomb = next(case.file for case in cases if case.file.name == "bomb.png")
    start = time.perf_counter()
    with pytest.raises(ImageError):
        predictor.predict(bomb)
    assert time.perf_counter() - start < 0.2


def test_arrays_and_sketch_values(predictor):
    seven = np.asarray(digit_image(7, "L"), dtype=np.float64) / 255
    with_nan = seven.copy()
    with_nan[:5, :5] = np.nan
    with_nan[-5:, -5:] = np.inf
    assert predictor.predict(with_nan).top[0][0] == "7"  # NaN and inf read as nothing, the digit still reads
    assert predictor.predict((seven * 65535).astype(np.uint16)).top[0][0] == "7"  # another dtype, scaled
    assert predictor.predict(seven > 0.5).top[0][0] == "7"  # a bool mask
    for value in (np.full((50, 50), np.nan), np.full((50, 50, 3), np.inf)):
        with pytest.raises(NoDigitError):
            predictor.predict(value)
    for value in (np.zeros((3, 4, 5, 6)), np.zeros((28, 28, 2)), np.zeros((0, 28)), np.array(["7"]), np.zeros(5)):
        with pytest.raises(ImageError, match=r"is not an image"):
            predictor.predict(value)
    for value in (None, {}, {"background": None, "layers": None, "composite": None}, {"layers": [None]}):
        with pytest.raises(NoDigitError, match="no digit found"):
            predictor.predict(value)


def test_pictures_in_any_mode_pillow_makes(predictor):
    """PIL images a Python caller may hand over, in every mode, small and large enough to be reduced:
    the digit, or a message for one with no pixels (0 wide or high)."""
    seven = digit_image(7, "L")
    for size in (300, 1100):
        grey = seven.resize((size, size))
        for mode in PIL_MODES:
            # Premultiplied modes come only from their straight twins.
            picture = grey.convert({"La": "LA", "RGBa": "RGBA"}.get(mode, mode)).convert(mode)
            assert predictor.predict(picture).label == "7", (mode, size)
            assert predictor.read_number(picture).number == "7", (mode, size)
        levels = np.asarray(grey, dtype=np.uint16) * 257
        for mode in ("I;16", "I;16L", "I;16B"):
            stored = levels.astype(">u2" if mode == "I;16B" else "<u2").tobytes()  # big-endian for I;16B
            deep = Image.frombuffer(mode, grey.size, stored, "raw", mode, 0, 1)
            assert predictor.predict(deep).label == "7", (mode, size)
    for empty in (Image.new("L", (0, 0)), Image.new("RGB", (5, 0))):
        for read in (predictor.predict, predictor.read_number):
            with pytest.raises(ImageError, match=r"the image has no pixels \(\d+x\d+\)"):
                read(empty)
    for k in (0, -1, 2.5, True):
        for read in (predictor.predict, predictor.read_number):
            with pytest.raises(ValueError, match="must be a whole number of at least 1"):
                read(seven, k=k)


def test_cli(cases, cli_env):
    files = [str(case.file) for case in cases]
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lenet", "predict", "--json", *files],
        env=cli_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 1, result.stderr  # some files failed, the others were answered
    assert "Traceback" not in result.stderr, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    for case, line in zip(cases, lines, strict=True):
        if case.expect in (UNREADABLE, NO_DIGIT):
            assert case.says.lower() in line["error"].lower(), (case.file.name, line)
            assert ("no digit found" in line["error"]) == (case.expect == NO_DIGIT), (case.file.name, line)
        else:
            assert line["predictions"][0]["label"] == case.expect, (case.file.name, line)
    assert elapsed < 10 + SECONDS * len(cases) / 4  # start-up, then well inside the per-file bound


def test_app_endpoints(cases, app_url):
    from testkit.httpapi import GradioHTTP

    api = GradioHTTP(app_url, timeout=30)
    try:
        for case in cases:
            start = time.perf_counter()
            top3, preview, message = api.call("predict_image", api.upload(case.file))
            elapsed = time.perf_counter() - start
            assert elapsed < SECONDS + 1, (case.file.name, elapsed)  # plus the upload over loopback
            if case.expect == UNREADABLE:
                assert message.startswith("⚠️ Could not read that file"), (case.file.name, message)
                assert case.says.lower() in message.lower() and preview is None, (case.file.name, message)
            elif case.expect == NO_DIGIT:
                assert message.startswith("🔍 No digit found") and preview is None, (case.file.name, message)
            else:
                assert top3["label"] == case.expect and len(top3["confidences"]) == 3, (case.file.name, top3)
        for drawing in (None, "", data_url(Image.new("RGBA", (400, 400), (0, 0, 0, 0)))):  # a cleared pad
            top3, preview, message = api.call("predict_sketch", drawing)
            assert message.startswith("Draw a digit") and preview is None
    finally:
        api.close()


def test_uploads_over_the_cap_are_refused_by_the_server(app_url, tmp_path):
    import httpx

    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (11 * 1024 * 1024))  # over the app's 10 MB
    with big.open("rb") as file:
        response = httpx.post(f"{app_url}gradio_api/upload", files=[("files", (big.name, file))], timeout=60)
    assert response.status_code == 413, response.text
    assert "10" in response.text  # the message names the limit
