"""The browser edition against the server: the same images read by the page and by Predictor.predict.

    python -m bench.web_parity [--count 300] [--seed 2026] [--site DIR]

Builds the site from the shipped checkpoint (unless --site names a built one), serves it on
loopback and opens it in headless Chromium; then, for each of bench.wild's three sets (testkit.wild:
mouse sketches, phone photos, pasted MNIST digits; `--count` images each, seeded), reads every image
in the page (window.lenet.predict) and in Python, and prints how often the top-1 agrees, each side's
accuracy, and how far apart the 28x28 inputs are (mean absolute difference in grey levels, mean over
the images and the worst one). Target (issue 15): top-1 agreement >= 99% and a mean difference
<= 8 levels on drawn digits; the page's photo accuracy says whether it reads photos as the app does.
"""

from __future__ import annotations

import argparse

import numpy as np

from lenet.predict import Predictor
from lenet.training.data import load_mnist
from testkit.browser import CHROMIUM, CHROMIUM_FLAGS, read_in_page, served_site
from testkit.wild import DigitShapes, find_fonts, pasted, photo, sketch

SETS = {"sketch": sketch, "photo": photo, "pasted": pasted}


def compare(page, predictor: Predictor, cases) -> dict[str, float]:
    agree = page_right = server_right = 0
    differences = []
    for data, label, _ in cases:
        page_label, levels = read_in_page(page, data)
        try:
            expected = predictor.predict(data)
            server_label, server_levels = expected.label, expected.model_input.levels.astype(int).ravel()
        except ValueError as err:
            server_label, server_levels = str(err), None
        agree += page_label == server_label
        page_right += page_label == str(label)
        server_right += server_label == str(label)
        if levels is not None and server_levels is not None:
            differences.append(float(np.abs(np.array(levels) - server_levels).mean()))
    n = len(cases)
    return {
        "agree": agree / n,
        "page": page_right / n,
        "server": server_right / n,
        "mean": float(np.mean(differences)),
        "worst": float(np.max(differences)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300, help="images per set (default: 300)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the image sets (default: 2026)")
    parser.add_argument("--site", default=None, help="a site build-web wrote (default: build one in a temp folder)")
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    images, labels = load_mnist(args.data_dir, train=False)
    shapes = DigitShapes(images.numpy(), labels.numpy(), find_fonts())
    predictor = Predictor.from_checkpoint()
    with served_site(args.site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("() => window.lenet")
        page.evaluate("() => window.lenet.ready")
        print(f"{args.count} images per set, seed {args.seed}: the page (Chromium) vs Predictor.predict")
        print("set      top-1 agrees  page right  server right  28x28 difference: mean (worst) grey levels")
        for name, make in SETS.items():
            rng = np.random.default_rng(args.seed)
            r = compare(page, predictor, [make(shapes, rng) for _ in range(args.count)])
            print(
                f"{name:<8} {r['agree']:>11.1%}  {r['page']:>10.1%}  {r['server']:>12.1%}"
                f"  {r['mean']:.2f} ({r['worst']:.1f})"
            )
        browser.close()


if __name__ == "__main__":
    main()
