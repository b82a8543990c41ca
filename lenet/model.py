"""The LeNet-5 family, rebuilt from one JSON-serialisable config and loaded from safetensors only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin, constants, hf_hub_download
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

VARIANTS = ("classic", "modern")
WEIGHTS_NAME = constants.SAFETENSORS_SINGLE_FILE  # "model.safetensors"
CONFIG_NAME = constants.CONFIG_NAME  # "config.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, not safetensors, or does not match its config."""


class ScaledTanh(nn.Module):
    """LeCun's 1.7159 * tanh(2/3 x): keeps unit-variance inputs at unit variance (1998, appendix A)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsample(nn.Module):
    """The paper's S2/S4: 2x2 average, times a trainable per-map coefficient, plus a trainable bias."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, 2)  # (N, C, H, W) -> (N, C, H/2, W/2)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class LeNet5(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="lenet",
    license="mit",
    pipeline_tag="image-classification",
    tags=["mnist", "lenet", "image-classification"],
):
    """LeNet-5 on 28x28 MNIST-style digits: ink intensity in [0, 1], white ink on black.

    The input is normalised and padded to the paper's 32x32 inside `forward`, so callers (the
    preprocessing pipeline, training, the app) hand over plain [0, 1] pixels and the
    normalisation constants travel with the weights in `config.json`.

    - `classic`: LeCun et al. 1998. C1 6@5x5, S2 trainable subsampling, C3 16@5x5 (fully
      connected rather than the paper's sparse table), S4, C5 120@5x5 as a convolution, F6 84,
      10 linear outputs (the paper's RBF layer is replaced by softmax cross-entropy), scaled tanh.
    - `modern`: the same topology with batch norm, ReLU, max-pooling and dropout before F6/output.
    """

    def __init__(
        self,
        variant: str = "modern",
        num_classes: int = 10,
        channels: tuple[int, int, int] = (6, 16, 120),
        hidden: int = 84,
        dropout: float = 0.0,
        mean: float = 0.1307,
        std: float = 0.3081,
    ):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown LeNet-5 variant {variant!r}; expected one of {VARIANTS}")
        c1, c3, c5 = channels
        self.variant = variant
        self.mean = mean
        self.std = std
        modern = variant == "modern"

        def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
            # Batch norm makes the conv bias redundant, so the modern convs go without one.
            if modern:
                return [nn.Conv2d(c_in, c_out, 5, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            return [nn.Conv2d(c_in, c_out, 5), ScaledTanh()]

        def pool(c: int) -> list[nn.Module]:
            return [nn.MaxPool2d(2)] if modern else [Subsample(c), ScaledTanh()]

        act = nn.ReLU() if modern else ScaledTanh()
        self.features = nn.Sequential(
            *conv_block(1, c1),  # C1: (N, 1, 32, 32) -> (N, 6, 28, 28)
            *pool(c1),  # S2: -> (N, 6, 14, 14)
            *conv_block(c1, c3),  # C3: -> (N, 16, 10, 10)
            *pool(c3),  # S4: -> (N, 16, 5, 5)
            *conv_block(c3, c5),  # C5: -> (N, 120, 1, 1)
            nn.Flatten(),  # -> (N, 120)
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(c5, hidden),  # F6: -> (N, 84)
            act,
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),  # output: -> (N, 10) logits
        )
        if not modern:
            self.apply(_lecun_init)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) ink in [0, 1] -> (N, num_classes) logits."""
        x = (pixels - self.mean) / self.std
        # Pad with the normalised value of blank paper, not zero, so the border looks like background.
        x = F.pad(x, (2, 2, 2, 2), value=-self.mean / self.std)  # -> (N, 1, 32, 32)
        return self.classifier(self.features(x))

    @property
    def config(self) -> dict:
        """The `__init__` arguments, exactly as written to `config.json`."""
        return dict(self._hub_mixin_config)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def generate_model_card(self, *args, **model_card_kwargs):
        """The README.md that `save_pretrained` and `push_to_hub` write: lenet.hub.card's full card when
        given `metrics` and `repo_id` (as `lenet.hub.push` does), else the mixin's short default."""
        if "metrics" not in model_card_kwargs:
            return super().generate_model_card(*args, **model_card_kwargs)
        from lenet.hub.card import model_card  # lenet.hub.card imports this module

        return model_card(self, **model_card_kwargs)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs,
    ) -> LeNet5:
        # Replaces the mixin's loader, which falls back to a pickled `pytorch_model.bin` and loads
        # non-strictly by default: here weights come from safetensors only, and every tensor must fit.
        if os.path.isdir(model_id):
            weights_file = os.path.join(model_id, WEIGHTS_NAME)
        else:
            weights_file = hf_hub_download(
                repo_id=model_id,
                filename=WEIGHTS_NAME,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
            )
        model = cls(**model_kwargs)
        load_weights(model, weights_file, map_location=map_location)
        return model


def _lecun_init(module: nn.Module) -> None:
    """Uniform(+-2.4 / fan_in) weights, as the paper prescribes for its tanh units."""
    if isinstance(module, nn.Conv2d | nn.Linear):
        bound = 2.4 / (module.weight[0].numel())
        nn.init.uniform_(module.weight, -bound, bound)
        nn.init.zeros_(module.bias)


def load_weights(model: nn.Module, weights_file: str | Path, map_location: str = "cpu") -> None:
    """Load a safetensors file into `model` strictly; any failure is a CheckpointError naming the file."""
    if not Path(weights_file).is_file():
        pickled = Path(weights_file).with_name("pytorch_model.bin")
        hint = f" ({pickled.name} is there, but pickle checkpoints are never loaded)" if pickled.exists() else ""
        raise CheckpointError(f"{weights_file} not found{hint}")
    try:
        state = load_file(str(weights_file), device=map_location)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights_file} is not a readable safetensors file: {err}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise CheckpointError(f"{weights_file} does not match its config.json: {detail}") from None
    model.eval()


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


def load_model(path: str | Path, map_location: str = "cpu") -> LeNet5:
    """Rebuild a LeNet5 from a local checkpoint folder (config.json + model.safetensors), strictly."""
    path = readable_folder(path)
    config_file = path / CONFIG_NAME
    if not path.is_dir():
        raise CheckpointError(f"checkpoint folder {path} not found")
    try:
        config = json.loads(config_file.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{config_file} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{config_file} is not valid JSON: {err}") from None
    try:
        model = LeNet5(**config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{config_file} does not describe a LeNet5: {err}") from None
    load_weights(model, path / WEIGHTS_NAME, map_location=map_location)
    return model
