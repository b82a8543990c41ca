"""The Gradio app, served for real on 127.0.0.1: its API through gradio_client, its UI in Chromium.

Browser tests drive Debian's Chromium with Playwright: real mouse strokes on the Sketchpad, a photo
upload, clearing, dark theme, and the app embedded in an iframe. Without a browser they skip
locally and fail in CI (CI=true). Screenshots of each state go to test-output/app/.
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from testkit.browser import CHROMIUM, CHROMIUM_FLAGS, stroke_digit
from testkit.render import draw, photo_bytes

from .conftest import ROOT, children_running, running_app, wait_gone

SCREENSHOTS = ROOT / "test-output" / "app"


# ---- the API, through gradio_client -------------------------------------------------------------


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def top3(label_value: dict) -> list[tuple[str, float]]:
    return [(c["label"], c["confidence"]) for c in label_value["confidences"]]


@pytest.mark.parametrize("label", [1, 4, 7])
def test_predict_image_endpoint(client, tmp_path, label):
    from gradio_client import handle_file

    path = tmp_path / f"photo-{label}.jpg"
    path.write_bytes(photo_bytes(label, shadow=True, seed=label))
    result, preview, message = client.predict(handle_file(str(path)), api_name="/predict_image")
    assert result["label"] == str(label)
    classes = top3(result)
    assert len(classes) == 3 and classes[0][0] == str(label)
    assert classes[0][1] >= classes[1][1] >= classes[2][1] > 0
    assert f"**{label}**" in message
    with Image.open(preview) as image:
        assert image.size == (196, 196)


def test_predict_sketch_endpoint(client, tmp_path):
    from gradio_client import handle_file

    layer = tmp_path / "layer.png"
    draw(Image.new("RGBA", (400, 400), (0, 0, 0, 0)), 7, (80, 60, 260), 14, (37, 99, 235, 255)).save(layer)
    value = {"background": None, "layers": [handle_file(str(layer))], "composite": None}
    result, _, message = client.predict(value, api_name="/predict_sketch")
    assert result["label"] == "7" and len(top3(result)) == 3
    assert "**7**" in message


def test_many_people_asking_at_once_all_get_the_whole_preview(app_url):
    """Eight clients send the same example again and again, as a class clicking one example would:
    every one gets the right digit and a complete preview image."""
    from testkit.httpapi import GradioHTTP

    example = ROOT / "examples" / "photo-7.jpg"

    def person(_: int) -> list[tuple[str, tuple[int, int]]]:
        api = GradioHTTP(app_url)
        seen = []
        try:
            for _ in range(6):
                result, preview, _ = api.call("predict_image", api.upload(example))
                with Image.open(io.BytesIO(api.fetch(preview))) as image:
                    image.load()  # raises on a truncated PNG
                    seen.append((result["label"], image.size))
        finally:
            api.close()
        return seen

    with ThreadPoolExecutor(8) as pool:
        answers = [answer for answers in pool.map(person, range(8)) for answer in answers]
    assert len(answers) == 48 and set(answers) == {("7", (196, 196))}


def test_the_app_answers_on_when_its_prediction_workers_are_killed(app_url):
    """A worker process killed (out of memory, a crash in an image decoder) is replaced: people keep
    getting answers, with no error, and the app keeps two workers."""
    from testkit.httpapi import GradioHTTP

    (app_pid,) = children_running("app.py")
    killed = children_running("lenet.serving.pool", app_pid)
    assert len(killed) == 2
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid)
    api = GradioHTTP(app_url)
    try:
        for example in ("photo-0.jpg", "drawn-3.png", "photo-7.jpg"):
            assert api.predict_file("predict_image", ROOT / "examples" / example)["label"] == example[-5]
    finally:
        api.close()
    workers = children_running("lenet.serving.pool", app_pid)
    assert len(workers) == 2 and not set(workers) & set(killed)


def test_a_preview_being_served_is_never_rewritten(tmp_path):
    """gr.Image rewrites a cached output file in place each time the same image comes out again, so
    a download of it at that moment gets a truncated file; the app's PreviewImage never does."""
    import app

    output = app.PreviewImage()
    output.GRADIO_CACHE = str(tmp_path)
    _, preview, _ = app.predict_image(str(ROOT / "examples" / "photo-7.jpg"))
    path = Path(output.postprocess(preview).path)
    whole = path.read_bytes()
    stop = threading.Event()

    def same_answer_again_and_again() -> None:
        while not stop.is_set():
            output.postprocess(preview)

    writer = threading.Thread(target=same_answer_again_and_again)
    writer.start()
    try:
        reads = [path.read_bytes() for _ in range(3000)]
    finally:
        stop.set()
        writer.join()
    assert all(read == whole for read in reads)


def test_bad_files_get_a_message_not_an_error(client, tmp_path):
    from gradio_client import handle_file

    cases = {
        "notes.png": b"this is a text file, not a PNG",
        "empty.jpg": b"",
        "half.png": photo_bytes(1)[:3000],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result, preview, message = client.predict(handle_file(str(path)), api_name="/predict_image")
        assert preview is None and not result.get("confidences"), name
        assert message.startswith("⚠️ Could not read that file"), (name, message)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(blank)
    _, _, message = client.predict(handle_file(str(blank)), api_name="/predict_image")
    assert message.startswith("Draw a digit")


# ---- the UI, in Chromium -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = (
        "playwright is not installed"
        if sync_playwright is None
        else None
        if Path(CHROMIUM).exists()
        else f"no Chromium at {CHROMIUM}"
    )
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(f"{missing} (apt-get install -y chromium; pip install playwright)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def open_app(page, url: str):
    page.goto(url)
    page.locator("#sketchpad canvas").first.wait_for(state="visible", timeout=60_000)


def shown_label(frame, timeout: float = 30) -> tuple[str, int]:
    """The top label gr.Label shows and how many classes it lists, once a prediction is shown."""
    label = frame.locator("#top3")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heading = label.locator("h2")
        if heading.count() and heading.first.inner_text().strip():
            return heading.first.inner_text().strip(), label.locator(".confidence-set").count()
        time.sleep(0.2)
    raise AssertionError("no prediction appeared")


def clear_canvas(frame) -> None:
    frame.locator('#sketchpad button[aria-label="Clear canvas"]').first.click()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_draw_three_digits(page, app_url, theme):
    open_app(page, f"{app_url}?__theme={theme}")
    drawn = [7, 1, 0] if theme == "light" else [7]
    for label in drawn:
        stroke_digit(page, page, label)
        page.wait_for_function(
            "want => document.querySelector('#top3 h2')?.innerText.trim() === want", arg=str(label), timeout=30_000
        )
        top, classes = shown_label(page)
        assert top == str(label) and classes == 3
        page.screenshot(path=SCREENSHOTS / f"draw-{label}-{theme}.png")
        clear_canvas(page)
        page.wait_for_function("() => !document.querySelector('#top3 h2')?.innerText.trim()", timeout=30_000)
    assert "Draw a digit" in page.locator("#message").inner_text()
    page.screenshot(path=SCREENSHOTS / f"cleared-{theme}.png")


def test_upload_a_photo(page, app_url, tmp_path):
    path = tmp_path / "photo-4.jpg"
    path.write_bytes(photo_bytes(4, shadow=True, specks=True, seed=4))
    open_app(page, app_url)
    page.get_by_role("tab", name="Photo").click()
    page.locator("#photo input[type=file]").set_input_files(str(path))
    top, classes = shown_label(page)
    assert top == "4" and classes == 3
    page.screenshot(path=SCREENSHOTS / "photo-4.png")


def test_clicking_an_example_predicts_it(page, app_url):
    """The examples reach the app as files in Gradio's cache, which the request guard lets through."""
    open_app(page, app_url)
    page.get_by_role("tab", name="Photo").click()
    example = page.locator("button.gallery-item").filter(has=page.locator("img[src$='drawn-3.png']")).first
    example.click()
    top, classes = shown_label(page)
    assert top == "3" and classes == 3


def test_app_embedded_in_an_iframe(page, app_url, tmp_path):
    """A teacher's page on another origin embeds the app; drawing inside the frame predicts."""
    (tmp_path / "index.html").write_text(
        f'<!doctype html><title>Embed</title><h1>My lesson</h1><iframe id="app" src="{app_url}" '
        'width="1100" height="800" style="border:0"></iframe>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        frame = page.frame_locator("#app")
        frame.locator("#sketchpad canvas").first.wait_for(state="visible", timeout=60_000)
        stroke_digit(page, frame, 7)
        top, classes = shown_label(frame)
        assert top == "7" and classes == 3
        page.screenshot(path=SCREENSHOTS / "iframe-7.png")
    finally:
        server.shutdown()


def test_screenshots_are_kept_out_of_git():
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    ignored = subprocess.run(["git", "check-ignore", "-q", "test-output/app/x.png"], cwd=ROOT, check=False)
    assert ignored.returncode == 0


def test_uploads_and_previews_are_deleted_after_a_while(tmp_path):
    """A busy Space must not fill its disk: with LENET_CACHE_SECONDS=2, every upload and preview is
    gone a few seconds later, and so is the folder each was in (Gradio leaves those behind: 956
    after a 30 s burst); the example images the page shows stay."""
    from testkit.httpapi import GradioHTTP

    cache = tmp_path / "gradio"
    uploads = []
    for i in range(3):
        uploads.append(tmp_path / f"upload-{i}.jpg")
        uploads[-1].write_bytes(photo_bytes(4, seed=100 + i))

    def cached() -> set[str]:
        return {p.relative_to(cache).as_posix() for p in cache.rglob("*")}

    with running_app(tmp_path, LENET_CACHE_SECONDS="2", GRADIO_TEMP_DIR=str(cache)) as (url, _):
        at_start = cached()
        api = GradioHTTP(url)
        try:
            for upload in uploads:
                _, preview, _ = api.call("predict_image", api.upload(upload))
                api.fetch(preview)
        finally:
            api.close()
        added = cached() - at_start
        files = {name for name in added if (cache / name).is_file()}
        assert {name.split("/")[-1] for name in files} == {"seen.png", *(u.name for u in uploads)}
        assert len(added - files) == len(files)  # each file in a folder of its own
        deadline = time.monotonic() + 30
        while cached() & added and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not cached() & added
        assert cached() == at_start
