"""The app's twin for bench.draw_latency: app.py exactly (page, drawing pad, events, queue,
launch settings, inline previews), but its predictor answers at once with constants, so the
difference between the two is the work the app does for an answer (the worker hop and the pipeline).

    python bench/twin_app.py      # on $GRADIO_SERVER_PORT, as testkit.appserver.AppServer starts it

The constants cycle through the ten digits' answers to one example each, computed once at start:
each answer then differs from the one on the page before, so the page visibly updates every time.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

SCRIPT = Path(__file__).resolve()  # testkit.appserver.AppServer(script=SCRIPT) runs this file


class ConstantPredictor:
    """`predict()` that returns prepared Predictions in turn, whatever it is given."""

    def __init__(self, answers: list):
        self.answers, self.lock = itertools.cycle(answers), threading.Lock()

    def predict(self, source, k: int = 3):
        with self.lock:
            return next(self.answers)


def serve(port: int) -> None:
    import app  # the repository is on PYTHONPATH (AppServer)
    from lenet.serving.pool import PredictorPool

    examples = sorted(app.EXAMPLES.glob("*.png")) + sorted(app.EXAMPLES.glob("*.jpg"))
    answers = [app.predictor.predict(path) for path in examples]
    if isinstance(app.predictor, PredictorPool):
        app.predictor.close()  # its workers are not needed
    app.predictor = ConstantPredictor(answers)
    app.demo.launch(server_name="127.0.0.1", server_port=port, quiet=True, **app.launch_options())


if __name__ == "__main__":
    serve(int(os.environ.get("GRADIO_SERVER_PORT", "7871")))
