"""Predictions in worker processes: the pipeline runs beside a web server instead of under its GIL.

A Gradio app is one Python process, and Python code in it runs on one core at a time: on a 2-core
Space, request handling and the image pipeline took turns on one core while the other sat idle.
`PredictorPool` has the same `predict()` and `read_number()` as `Predictor`, but each call runs in
one of `workers` processes (`python -m lenet.serving.pool`), each holding its own copy of the model:

- the parent sends the model once (and the piece and line readers, if any), as JSON configs and safetensors
  bytes, so a worker serves exactly the weights the parent loaded (from the Hub or bundled) and
  loads them strictly;
- requests and answers are JSON frames and raw byte frames over a private socket pair, never
  pickled objects (which a corrupted or hostile stream could turn into code);
- a worker that crashes or hangs (past `timeout`) costs one answer, a WorkerError, not the server:
  it is killed and replaced.

The standard library does the parts it does as well: subprocess starts the workers, a
socket.socketpair connects them, and multiprocessing.connection.Connection frames the bytes
(send_bytes / recv_bytes only; its recv would unpickle). The pool itself is written here because
multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor do the rest differently from what a
server needs: their workers re-import the main module (app.py, building the whole UI again in each),
they exchange pickles, a hung task cannot be stopped alone, and a worker that dies breaks a
ProcessPoolExecutor for every later call (BrokenProcessPool) instead of costing one answer.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lenet.model import LeNet5, LeNetConfig
from lenet.numbers import DigitReading, NumberReading
from lenet.pipeline.preprocess import ImageError, ImageSource, ModelInput, NoDigitError, Sketch
from lenet.predict import Prediction, Predictor, checked_k

log = logging.getLogger("lenet.serving")
STARTUP_SECONDS = 120  # importing torch on a busy 2-core machine can take tens of seconds
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # so `python -m lenet.serving.pool` finds this lenet


class WorkerError(RuntimeError):
    """A worker could not start, or crashed or ran out of time on this input (and was replaced): the
    server's trouble, not the image's, so not an ImageError."""


def _pack(item: ImageSource, blobs: list[bytes]) -> dict | None:
    """An image source -> its JSON description; file contents go to `blobs` as separate frames."""
    if item is None:
        return None
    if isinstance(item, str | Path):
        return {"path": str(item)}
    if isinstance(item, bytes | bytearray | memoryview):
        blobs.append(bytes(item))
        return {"blob": len(blobs) - 1}
    if isinstance(item, dict):  # a Gradio Sketchpad value
        item = Sketch.from_gradio(item)
    if isinstance(item, Sketch):
        return {"layers": [_pack(layer, blobs) for layer in item.layers]}
    raise TypeError(f"PredictorPool takes file paths, bytes or Sketchpad values, not {type(item).__name__}")


def _unpack(spec: dict | None, blobs: list[bytes]) -> ImageSource:
    """The inverse of _pack, in the worker."""
    if spec is None:
        return None
    if "path" in spec:
        return Path(spec["path"])
    if "blob" in spec:
        return blobs[spec["blob"]]
    return Sketch(tuple(_unpack(layer, blobs) for layer in spec["layers"]))


class _Worker:
    """One `python -m lenet.serving.pool` process and the parent's end of its socket pair."""

    def __init__(self, models: dict[str, tuple[dict, bytes]], threads: int):
        parent_end, child_end = socket.socketpair()
        python_path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lenet.serving.pool", str(child_end.fileno())],
            pass_fds=[child_end.fileno()],
            env={**os.environ, "PYTHONPATH": python_path},
        )
        child_end.close()
        self.connection = Connection(parent_end.detach())
        try:
            configs = {role: config for role, (config, _) in models.items()}  # "model", "pieces", "lines"
            self.connection.send_bytes(json.dumps({"configs": configs, "threads": threads}).encode())
            for _, weights in models.values():
                self.connection.send_bytes(weights)
        except OSError:  # it exited at once (cannot import torch, refused memory): wait_ready says so
            pass
        self.ready = False

    def wait_ready(self) -> None:
        """Return once the worker has loaded the model; WorkerError if it cannot."""
        if self.ready:
            return
        try:
            if not self.connection.poll(STARTUP_SECONDS):
                raise TimeoutError(f"not ready after {STARTUP_SECONDS} s")
            self.connection.recv_bytes()  # {"ready": true}
        except (EOFError, OSError, TimeoutError) as err:
            raise WorkerError(f"a prediction worker could not start ({err or 'it exited'})") from None
        self.ready = True

    def send(self, request: dict, blobs: list[bytes]) -> None:
        """One request: its JSON frame, then its file contents. OSError if the worker is gone."""
        self.connection.send_bytes(json.dumps(request).encode())
        for blob in blobs:
            self.connection.send_bytes(blob)

    def receive(self, timeout: float) -> tuple[dict, bytes | None]:
        """The answer: (JSON, the 28x28 levels' bytes or None). EOFError or OSError if the worker
        died, TimeoutError if it has not answered within `timeout` seconds."""
        if not self.connection.poll(timeout):
            raise TimeoutError
        answer = json.loads(self.connection.recv_bytes())
        return answer, self.connection.recv_bytes() if "shape" in answer else None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.connection.close()


class PredictorPool:
    """`Predictor.predict` in `workers` processes; thread-safe, each worker serves one call at a time.
    The constructor returns once every worker has loaded the model (WorkerError if one cannot)."""

    def __init__(
        self,
        model: LeNet5,
        workers: int = 2,
        timeout: float = 10.0,
        pieces: LeNet5 | None = None,
        lines: LeNet5 | None = None,
    ):
        self.timeout = timeout  # seconds one prediction may take before its worker is replaced
        nets = {"model": model, "pieces": pieces, "lines": lines}
        self._models = {
            role: (
                net.config.to_dict(),
                save_safetensors({name: t.contiguous() for name, t in net.state_dict().items()}),
            )
            for role, net in nets.items()
            if net is not None
        }
        self._threads = max(1, (os.cpu_count() or 1) // workers)  # torch threads each: the cores, shared out
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()  # every worker taken is put back
        self._running: set[_Worker] = set()
        started = [self._new_worker() for _ in range(workers)]
        try:
            for worker in started:  # they load in parallel
                worker.wait_ready()
        except WorkerError:
            for worker in started:
                self._kill(worker)
            raise
        for worker in started:
            self._idle.put(worker)

    def _new_worker(self) -> _Worker:
        worker = _Worker(self._models, self._threads)
        self._running.add(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        self._running.discard(worker)
        worker.kill()

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (for logs and monitoring)."""
        return [worker.process.pid for worker in list(self._running)]

    def predict(self, source: ImageSource, k: int = 3) -> Prediction:
        """A file path, bytes or Sketchpad value -> Prediction, as Predictor.predict. Raises
        ImageError or NoDigitError from the pipeline, WorkerError if its worker crashed or hung."""
        answer, levels = self._ask("digit", source, k)
        levels = np.frombuffer(levels, dtype=np.uint8).reshape(answer["shape"])
        model_input = ModelInput(levels, beside=answer["beside"])
        return Prediction(top=[(label, p) for label, p in answer["top"]], model_input=model_input)

    def read_number(self, source: ImageSource, k: int = 3) -> NumberReading:
        """A file path or bytes -> NumberReading, as Predictor.read_number; raises as predict does."""
        answer, levels = self._ask("number", source, k)
        inputs = np.frombuffer(levels, dtype=np.uint8).reshape(answer["shape"])  # (digits, 28, 28)
        digits = [
            DigitReading(tuple(digit["box"]), [(label, p) for label, p in digit["top"]], ModelInput(inputs[i].copy()))
            for i, digit in enumerate(answer["digits"])
        ]
        return NumberReading(answer["number"], answer["confidence"], digits)

    def _ask(self, task: str, source: ImageSource, k: int) -> tuple[dict, bytes]:
        """One request to an idle worker: its JSON answer and levels, or the error it raised."""
        blobs: list[bytes] = []
        request = {"task": task, "source": _pack(source, blobs), "k": checked_k(k), "blobs": len(blobs)}
        worker = self._idle.get()
        try:
            worker.wait_ready()
            try:
                worker.send(request, blobs)
            except OSError:  # it died while idle (killed, out of memory): a fresh one takes the request
                self._kill(worker)
                worker = self._new_worker()
                worker.wait_ready()
                worker.send(request, blobs)
            answer, levels = worker.receive(self.timeout)
        except BaseException as err:
            # The worker crashed, hung or was interrupted mid-request: replace it. The replacement
            # starts at once and loads while it waits in the pool.
            self._kill(worker)
            self._idle.put(self._new_worker())
            if isinstance(err, TimeoutError):
                raise WorkerError(f"reading this image took over {self.timeout:g} s and was stopped") from None
            if isinstance(err, EOFError | OSError):
                raise WorkerError("the worker reading this image stopped; it has been restarted, try again") from None
            raise
        self._idle.put(worker)
        if "error" in answer:
            error = {"ImageError": ImageError, "NoDigitError": NoDigitError}.get(answer["error"])
            if error is None:  # a bug in the pipeline: its traceback is in the worker's log, its text may name files
                raise WorkerError("reading this image failed inside the app (the error is logged)")
            raise error(answer["message"])
        return answer, levels

    def close(self) -> None:
        """Stop the idle workers; busy ones stop when their call returns and this process exits."""
        while True:
            try:
                self._kill(self._idle.get_nowait())
            except queue.Empty:
                return


def serve(connection: Connection) -> None:
    """Worker: load the models the parent sends, then answer requests until the parent goes away."""
    setup = json.loads(connection.recv_bytes())
    torch.set_num_threads(setup["threads"])
    models = {}
    for role, config in setup["configs"].items():  # the weights come in the same order
        models[role] = LeNet5(LeNetConfig.from_dict(config))
        models[role].load_state_dict(load_safetensors(connection.recv_bytes()), strict=True)
    predictor = Predictor(**models)
    connection.send_bytes(b'{"ready": true}')
    while True:
        try:
            request = json.loads(connection.recv_bytes())
            blobs = [connection.recv_bytes() for _ in range(request["blobs"])]
        except EOFError:
            return  # the parent closed the pool or exited
        try:
            source = _unpack(request["source"], blobs)
            if request.get("task") == "number":
                reading = predictor.read_number(source, k=request["k"])
            else:
                prediction = predictor.predict(source, k=request["k"])
        except (ImageError, NoDigitError) as err:
            connection.send_bytes(json.dumps({"error": type(err).__name__, "message": str(err)}).encode())
            continue
        except Exception as err:  # a bug: say so in the log and to the caller, and keep serving
            traceback.print_exc()
            connection.send_bytes(json.dumps({"error": type(err).__name__, "message": str(err)}).encode())
            continue
        if request.get("task") == "number":
            levels = np.stack([digit.model_input.levels for digit in reading.digits])  # (digits, 28, 28)
            digits = [{"box": list(digit.box), "top": digit.top} for digit in reading.digits]
            answer = {"number": reading.number, "confidence": reading.confidence, "digits": digits}
        else:
            levels = prediction.model_input.levels  # (28, 28) uint8
            answer = {"top": prediction.top, "beside": prediction.model_input.beside}
        connection.send_bytes(json.dumps({**answer, "shape": list(levels.shape)}).encode())
        connection.send_bytes(levels.tobytes())


def make_predictor(
    model: LeNet5, workers: int, pieces: LeNet5 | None = None, lines: LeNet5 | None = None
) -> Predictor | PredictorPool:
    """What the app predicts with: a PredictorPool of `workers` processes, or, where processes cannot
    start (a sandbox without subprocesses, too little memory), a Predictor in this process. `pieces`
    and `lines`: the piece and line readers that numbers are read with (lenet.numbers)."""
    try:
        return PredictorPool(model, workers=workers, pieces=pieces, lines=lines)
    except WorkerError as err:
        log.warning("%s; predicting in the app's own process instead", err)
        return Predictor(model, pieces, lines)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
