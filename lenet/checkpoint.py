"""The checkpoint folder, the one place it is read and written: model.safetensors + config.json +
metrics.json, written atomically and loaded strictly (safetensors only), and resumable training state."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import constants
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from lenet.model import LeNet5, LeNetConfig

WEIGHTS_NAME = constants.SAFETENSORS_SINGLE_FILE  # "model.safetensors", as the Hub names them
CONFIG_NAME = constants.CONFIG_NAME  # "config.json"
METRICS_NAME = "metrics.json"
MODEL_FILES = (WEIGHTS_NAME, CONFIG_NAME, METRICS_NAME)  # what a checkpoint folder holds, and what is pushed
STATE_DIR = "training-state"  # inside the output folder while a run is unfinished
# The tensors, with the progress as JSON in the file's metadata: one file, replaced in one rename, so
# no kill can leave one epoch's tensors beside another's progress.
STATE_FILE = "state.safetensors"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, not safetensors, or does not match its config."""


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a temporary file in the same folder, fsynced, then renamed over."""
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_model_files(model: LeNet5, folder: Path) -> None:
    """model.safetensors and config.json of `model` into `folder`, fsynced: what save_checkpoint
    and LeNet5.save_pretrained both write."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
    (folder / CONFIG_NAME).write_text(json.dumps(model.config.to_dict(), indent=2) + "\n")
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        with open(folder / name, "rb") as f:
            os.fsync(f.fileno())


def check_output_folder(out: str | Path) -> Path:
    """`out` if a checkpoint may be written there: a new folder, or one holding nothing but a
    checkpoint's files and a training state (which a save replaces). Anything else is a
    CheckpointError, before any training: a save replaces the whole folder."""
    out = Path(out)
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise CheckpointError(f"{folder} is a file: a checkpoint folder cannot be made in it")
            break
    if out.is_dir():
        others = sorted(entry.name for entry in out.iterdir() if entry.name not in (*MODEL_FILES, STATE_DIR))
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise CheckpointError(
                f"{out} holds other files than a checkpoint's ({shown}), which saving would delete: "
                "pick a new or empty folder"
            )
    return out


def save_checkpoint(model: LeNet5, out: str | Path, metrics: dict[str, Any]) -> Path:
    """Write `out/` = model.safetensors + config.json + metrics.json as one swap.

    The files are written into a sibling staging folder, which then replaces `out` by two
    renames, so an interrupted save leaves the previous checkpoint loadable (`load_model` finds it
    moved aside if the kill came between the renames; the next save puts it back first).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _recover(out)
    check_output_folder(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        write_model_files(model, staging)
        (staging / METRICS_NAME).write_text(json.dumps(metrics, indent=2) + "\n")
        with open(staging / METRICS_NAME, "rb") as f:
            os.fsync(f.fileno())
        retired = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            os.replace(out, retired)
        os.replace(staging, out)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def retired_copies(path: str | Path) -> list[Path]:
    """The previous versions of checkpoint folder `path` that a save moved aside (oldest first).
    A save killed between moving the old folder aside and moving the new one in leaves only these."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)


def readable_folder(path: str | Path) -> Path:
    """The folder to read checkpoint `path` from: itself, or, where a save was interrupted between
    its two renames, the previous checkpoint it moved aside, which is still whole."""
    path = Path(path)
    retired = [] if path.is_dir() else retired_copies(path)
    return retired[-1] if retired else path


def load_weights(model: torch.nn.Module, weights_file: str | Path, map_location: str = "cpu") -> None:
    """Load a safetensors file into `model` strictly; any failure is a CheckpointError naming the file."""
    if not Path(weights_file).is_file():
        pickled = Path(weights_file).with_name("pytorch_model.bin")
        hint = f" ({pickled.name} is there, but pickle checkpoints are never loaded)" if pickled.exists() else ""
        raise CheckpointError(f"{weights_file} not found{hint}")
    try:
        state = load_file(str(weights_file), device=map_location)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights_file} is not a readable safetensors file: {err}") from None
    expected = model.state_dict()
    for name, tensor in state.items():  # load_state_dict would cast ints to floats, and takes NaN
        if name in expected and expected[name].is_floating_point():
            if not tensor.is_floating_point():
                raise CheckpointError(
                    f"{weights_file}: {name} holds {tensor.dtype} numbers, not floating-point weights"
                )
            if not torch.isfinite(tensor).all():
                raise CheckpointError(f"{weights_file}: {name} holds NaN or infinite weights")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise CheckpointError(f"{weights_file} does not match its config.json: {detail}") from None
    model.eval()


def read_config(path: str | Path) -> LeNetConfig:
    """The LeNetConfig in checkpoint folder `path`'s config.json; a CheckpointError naming the file."""
    config_file = readable_folder(path) / CONFIG_NAME
    try:
        return LeNetConfig.from_dict(json.loads(config_file.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"{config_file} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{config_file} is not valid JSON: {err}") from None
    except (TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{config_file} does not describe a LeNet5: {err}") from None


def load_model(path: str | Path, map_location: str = "cpu") -> LeNet5:
    """Rebuild a LeNet5 from a checkpoint folder (config.json + model.safetensors), strictly."""
    path = readable_folder(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint folder {path} not found")
    model = LeNet5(read_config(path))
    load_weights(model, path / WEIGHTS_NAME, map_location=map_location)
    return model


def load_digit_model(path: str | Path, map_location: str = "cpu") -> LeNet5:
    """load_model, refusing a line reader (train/lines.toml), which reads lines, not 28x28 digits."""
    model = load_model(path, map_location)
    if model.config.line_hidden:
        raise CheckpointError(f"{Path(path).name} is a line reader (numbers use it), not a digit classifier")
    return model


def checkpoint_files(path: str | Path) -> dict[str, bytes]:
    """{name: bytes} of the files a checkpoint folder holds (MODEL_FILES): what `push` uploads, once
    it has loaded them, so the Hub gets the bytes that were trained and evaluated."""
    folder = readable_folder(path)
    return {name: (folder / name).read_bytes() for name in MODEL_FILES if (folder / name).is_file()}


def _recover(out: Path) -> None:
    """Undo what a killed save left: the previous folder moved aside, half-written staging folders."""
    retired = retired_copies(out)
    if not out.exists() and retired:
        os.replace(retired.pop(), out)
    for leftover in [*retired, *out.parent.glob(f".{out.name}.staging-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def read_metrics(checkpoint: str | Path) -> dict[str, Any] | None:
    """The checkpoint's metrics.json, or None when it has none."""
    path = readable_folder(checkpoint) / METRICS_NAME
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from None


def save_training_state(
    out: str | Path, model: LeNet5, optimizer: torch.optim.Optimizer, progress: dict[str, Any]
) -> None:
    """Persist everything needed to continue after the epoch `progress["epoch"]`, safetensors only,
    as one file written atomically: the model's and the optimizer's tensors, and in its metadata the
    rest (`progress`: epoch, history, what made the run; the optimizer's hyper-parameters)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optim_state = optimizer.state_dict()
    for index, slots in optim_state["state"].items():
        for slot, value in slots.items():
            tensors[f"optim.{index}.{slot}"] = torch.as_tensor(value).detach().cpu().contiguous()
    metadata = {"progress": json.dumps({**progress, "param_groups": optim_state["param_groups"]})}
    _atomic_write(Path(out) / STATE_DIR / STATE_FILE, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_training_progress(out: str | Path) -> dict[str, Any] | None:
    """The progress saved with `out`'s training state (epoch, history, ...), or None if it has none."""
    path = Path(out) / STATE_DIR / STATE_FILE
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as state:
            progress = json.loads((state.metadata() or {})["progress"])
        if not isinstance(progress, dict) or not isinstance(progress.get("param_groups"), list):
            raise ValueError("its progress is not what a training run saves")
    except Exception as err:  # any unreadable state is reported the same way
        raise CheckpointError(f"training state in {path.parent} is unreadable: {err}") from None
    return progress


def load_training_state(out: str | Path, model: LeNet5, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    """Restore model and optimizer from `out/training-state`; the saved progress, or None if absent."""
    progress = read_training_progress(out)
    if progress is None:
        return None
    folder = Path(out) / STATE_DIR
    try:
        tensors = load_file(str(folder / STATE_FILE))
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, slot = key.split(".", 2)
                slots.setdefault(int(index), {})[slot] = value
        groups = progress.pop("param_groups")
        for group in groups:
            if "betas" in group:
                group["betas"] = tuple(group["betas"])
        optimizer.load_state_dict({"state": slots, "param_groups": groups})
    except Exception as err:  # a state from another model or a damaged file: said, not a traceback
        raise CheckpointError(
            f"training state in {folder} does not fit this run: {' '.join(str(err).split())[:300]}"
        ) from None
    return progress


def clear_training_state(out: str | Path) -> None:
    shutil.rmtree(Path(out) / STATE_DIR, ignore_errors=True)
