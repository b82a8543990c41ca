"""The LeNet-5 family, built from one typed config (`LeNetConfig`) that travels with the weights."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import RemoteEntryNotFoundError
from torch import nn

VARIANTS = ("classic", "modern")


@dataclass(frozen=True)
class LeNetConfig:
    """The architecture and its input normalisation: `config.json` beside the weights, a recipe's
    [model] table, what worker processes rebuild the model from. JSON-serialisable both ways."""

    variant: str = "modern"  # "classic" (LeCun et al. 1998) or "modern" (batch norm, ReLU, max-pool)
    num_classes: int = 10
    channels: tuple[int, int, int] = (6, 16, 120)  # C1, C3, C5 feature maps
    hidden: int = 84  # F6 units
    dropout: float = 0.0  # before F6 and the output layer (modern only in practice)
    mean: float = 0.1307  # MNIST's pixel mean and std: the model normalises its [0, 1] input itself
    std: float = 0.3081
    # > 0: a line reader (lenet.numbers) instead of a digit classifier. The convolutions run along a
    # line of digits 28 px tall, as LeCun et al. (1998) ran LeNet-5 along a line (a space-displacement
    # network), giving a column of C5 features every 4 px, and a bidirectional GRU of this many units a
    # direction reads those columns in context; each column's last class is CTC's blank.
    line_hidden: int = 0

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(self.channels))  # JSON gives a list
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown LeNet-5 variant {self.variant!r}; expected one of {VARIANTS}")
        counts = (self.num_classes, *self.channels, self.hidden)
        if len(self.channels) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in counts):
            raise ValueError(f"num_classes, channels (three) and hidden must be positive integers: {self}")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (self.dropout, self.mean, self.std)):
            raise ValueError(f"dropout, mean and std must be numbers: {self}")
        if not 0 <= self.dropout < 1 or not self.std > 0 or not math.isfinite(self.mean) or not math.isfinite(self.std):
            raise ValueError(f"dropout must be in [0, 1), mean finite and std positive: {self}")
        if isinstance(self.line_hidden, bool) or not isinstance(self.line_hidden, int) or self.line_hidden < 0:
            raise ValueError(f"line_hidden must be 0 (a digit classifier) or a positive integer: {self}")
        if self.line_hidden and (self.variant != "modern" or self.num_classes < 2):
            raise ValueError(f"a line reader (line_hidden > 0) is modern, with the blank as its last class: {self}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LeNetConfig:
        """From config.json or a recipe; unknown keys and bad values are a ValueError naming them."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: field order as declared, channels as a list."""
        return {**dataclasses.asdict(self), "channels": list(self.channels)}


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

    def __init__(self, config: LeNetConfig | None = None):
        super().__init__()
        self.config = config = config or LeNetConfig()
        channels, dropout, modern = config.channels, config.dropout, config.variant == "modern"
        self.variant, self.mean, self.std = config.variant, config.mean, config.std
        c1, c3, c5 = channels

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
        if config.line_hidden:  # a line reader: C5's columns read in context, not one digit's F6
            self.line_rnn = nn.GRU(c5, config.line_hidden, batch_first=True, bidirectional=True)
            self.line_out = nn.Linear(2 * config.line_hidden, config.num_classes)
        else:
            self.classifier = nn.Sequential(
                nn.Dropout(dropout),
                nn.Linear(c5, config.hidden),  # F6: -> (N, 84)
                act,
                nn.Dropout(dropout),
                nn.Linear(config.hidden, config.num_classes),  # output: -> (N, 10) logits
            )
        if not modern:
            self.apply(_lecun_init)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) ink in [0, 1] -> (N, num_classes) logits; for a line reader, (N, 1, 28, W)
        lines -> (N, W // 4 + 1, num_classes) logits, one column every 4 px (lenet.pipeline.line)."""
        x = (pixels - self.mean) / self.std
        if not self.config.line_hidden:
            # Pad with the normalised value of blank paper, not zero, so the border looks like background.
            x = F.pad(x, (2, 2, 2, 2), value=-self.mean / self.std)  # -> (N, 1, 32, 32)
            return self.classifier(self.features(x))
        # 16 px of paper on each side, so the first and last digits are centred in a column's view.
        x = F.pad(x, (16, 16, 2, 2), value=-self.mean / self.std)  # -> (N, 1, 32, W + 32)
        columns = self.features[:-1](x)[:, :, 0].transpose(1, 2)  # C5 (N, 120, 1, T) -> (N, T, 120)
        return self.line_out(self.line_rnn(columns)[0])  # (N, T, 2 * line_hidden) -> (N, T, classes)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _save_pretrained(self, save_directory: Path) -> None:
        # save_pretrained writes the weights and config.json as every checkpoint is written.
        from lenet.checkpoint import write_model_files  # lenet.checkpoint imports this module

        write_model_files(self, Path(save_directory))

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs) -> LeNet5:
        """The mixin's from_pretrained (a folder, or a Hub repo at a revision), with a local folder's
        config.json read first as every checkpoint's is: the mixin parses it itself, and a damaged
        one raised a bare JSONDecodeError, or AttributeError for a JSON list, not a CheckpointError."""
        from lenet.checkpoint import read_config  # it imports this module

        if Path(pretrained_model_name_or_path).is_dir():
            read_config(pretrained_model_name_or_path)
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

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
        # non-strictly by default: here the folder is read as every checkpoint is (lenet.checkpoint),
        # safetensors only, strictly, the architecture from its config.json.
        from lenet.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError, load_model  # it imports this module

        if not Path(model_id).is_dir():
            for name in (CONFIG_NAME, WEIGHTS_NAME):  # both land in the same snapshot folder of the cache
                try:
                    path = hf_hub_download(
                        repo_id=model_id,
                        filename=name,
                        revision=revision,
                        cache_dir=cache_dir,
                        force_download=force_download,
                        token=token,
                        local_files_only=local_files_only,
                    )
                except RemoteEntryNotFoundError:  # the repo is there, the file is not
                    hint = " (weights are loaded from safetensors only, never a pickle)" if name == WEIGHTS_NAME else ""
                    raise CheckpointError(f"{model_id}@{revision or 'main'} has no {name}{hint}") from None
            model_id = str(Path(path).parent)
        return load_model(model_id, map_location=map_location)


def best_path(logits: torch.Tensor) -> list[tuple[int, int, int]]:
    """(T, classes) a line reader's output for one line -> the digits of CTC's best path, left to
    right, each as (class, first column, last column + 1): repeated classes merged, the blank (the
    last class) dropped."""
    blank = logits.shape[-1] - 1
    runs: list[list[int]] = []
    previous = blank
    for column, label in enumerate(logits.argmax(-1).tolist()):
        if label != blank and label == previous:
            runs[-1][2] = column + 1
        elif label != blank:
            runs.append([label, column, column + 1])
        previous = label
    return [(label, first, last) for label, first, last in runs]


def _lecun_init(module: nn.Module) -> None:
    """Uniform(+-2.4 / fan_in) weights, as the paper prescribes for its tanh units."""
    if isinstance(module, nn.Conv2d | nn.Linear):
        bound = 2.4 / (module.weight[0].numel())
        nn.init.uniform_(module.weight, -bound, bound)
        nn.init.zeros_(module.bias)
