"""The app plus one no-op endpoint, `/noop`, for the serving benchmarks.

    python -m bench.noop_app --port 7870      # what bench.serve starts; also handy by hand

It imports app.py (same demo, predictor, queue and launch settings) and adds one event, `/noop`: it
takes the photo input through the same PhotoInput component and returns a fixed answer of the same
shape as `/predict_image` (top-3, a 196x196 preview, a message) without touching the model, so the
difference between the two is the model's share of a request.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SCRIPT = Path(__file__).resolve()  # testkit.appserver.AppServer(script=SCRIPT) runs this file


def serve(port: int) -> None:
    """Child: app.py's demo with the no-op event added, on 127.0.0.1:port, until killed."""
    import app  # the repository is on PYTHONPATH (AppServer, or python -m from its root)

    example = sorted(app.EXAMPLES.glob("photo-*.jpg"))[0]
    fixed_answer = app.predict_image(str(example))  # computed once; /noop hands it back as is
    with app.demo:
        app.photo.change(lambda image: fixed_answer, app.photo, app.outputs, api_name="noop")
    app.demo.launch(server_name="127.0.0.1", server_port=port, quiet=True, **app.launch_options())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT", "7870")),
        help="loopback port to serve on (default: $GRADIO_SERVER_PORT, else 7870)",
    )
    serve(parser.parse_args().port)
