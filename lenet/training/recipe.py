"""Training recipes: a TOML file in train/ parsed into a typed, validated Recipe."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lenet.model import LeNetConfig
from lenet.training.augment import AugmentConfig


class RecipeError(ValueError):
    """A recipe file is missing, not TOML, or has an unknown, ill-typed or out-of-range key; or a run's
    settings do not fit it (a device this machine lacks, a training state from another run)."""


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with a one-cycle schedule: linear warm-up to `lr`, then cosine down to lr * final_lr."""

    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: float = 0.1  # fraction of all steps
    final_lr: float = 0.01  # fraction of lr left at the last step
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class Recipe:
    """Everything a training run depends on; the same recipe and seed give the same weights."""

    name: str
    out: str = "runs/lenet5"  # checkpoint folder, overridable with --out
    seed: int = 0
    epochs: int = 20
    batch_size: int = 128
    val_size: int = 5000  # training images held out for validation
    train_subset: int = 0  # train on the first N shuffled images only (0 = all): for smoke runs
    test_subset: int = 0  # report test metrics on the first N test images only (0 = all)
    pipeline_mix: float = 0.0  # share of training digits shown as the preprocessing pipeline renders them
    # Extra "not one digit" images (lenet.training.pieces), as a share of the training digits; their
    # label is the model's last class, so num_classes is 11. For the piece reader that scores a number's cuts.
    not_a_digit: float = 0.0
    # The candidate parts of this many synthetic numbers, cut as the number reader cuts them and each
    # labelled as a digit or "not one digit" (lenet.training.pieces.number_parts): also for the piece reader.
    number_parts: int = 0
    # A line reader ([model] line_hidden > 0) learns from this many synthetic lines of 1-8 MNIST
    # training digits, read with CTC (lenet.training.lines), instead of from single digits.
    lines: int = 0
    # Start from this checkpoint folder's weights (fine-tuning) instead of a random initialisation;
    # its architecture must be the recipe's [model]. "" = from scratch.
    init: str = ""
    model: LeNetConfig = field(default_factory=LeNetConfig)  # the [model] table
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    @classmethod
    def from_toml(cls, path: str | Path) -> Recipe:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise RecipeError(f"recipe {path} not found") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise RecipeError(f"recipe {path} is not valid TOML: {err}") from None
        raw.setdefault("name", path.stem)
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "recipe") -> Recipe:
        raw = dict(raw)
        for table in ("optim", "augment", "model"):
            if not isinstance(raw.get(table, {}), dict):
                raise RecipeError(f"{source}: {table} must be a table ([{table}] with its keys), got {raw[table]!r}")
        optim = _build(OptimConfig, raw.pop("optim", {}), f"{source} [optim]")
        augment = _build(AugmentConfig, raw.pop("augment", {}), f"{source} [augment]")
        model = _build(LeNetConfig, raw.pop("model", {}), f"{source} [model]")
        recipe = _build(cls, {**raw, "optim": optim, "augment": augment, "model": model}, source)
        if not NAME.fullmatch(recipe.name):
            raise RecipeError(f"{source}: name must be a plain name (letters, digits, . _ -), got {recipe.name!r}")
        if not recipe.out.strip():
            raise RecipeError(f"{source}: out must name a folder, got {recipe.out!r}")
        for config, where in ((recipe, source), (optim, f"{source} [optim]"), (augment, f"{source} [augment]")):
            for key, (low, high) in BOUNDS.get(type(config).__name__, {}).items():
                value = getattr(config, key)
                if not (math.isfinite(value) and low <= value <= high):
                    raise RecipeError(f"{where}: {key} must be between {low} and {high}, got {value}")
        if recipe.number_parts < 0:
            raise RecipeError(f"{source}: number_parts must be 0 or more, got {recipe.number_parts}")
        if recipe.lines < 0 or (recipe.lines > 0) != (recipe.model.line_hidden > 0):
            raise RecipeError(f"{source}: a line reader needs both lines > 0 and [model] line_hidden > 0, or neither")
        if recipe.lines and (recipe.init or recipe.not_a_digit or recipe.number_parts or recipe.pipeline_mix):
            raise RecipeError(f"{source}: a line reader learns from lines alone (no init, pieces or pipeline_mix)")
        for pieces_data in ("not_a_digit", "number_parts"):  # both are labelled with an 11th class
            if getattr(recipe, pieces_data) and recipe.model.num_classes != 11:
                raise RecipeError(
                    f"{source}: {pieces_data} needs [model] num_classes = 11 (10 digits and 'not one digit')"
                )
        return recipe

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a recipe's name names folders: no path in it
MNIST_TRAIN, MNIST_TEST = 60_000, 10_000
# Each number's range, inclusive (what train() can use; 0 where 0 means "all" or "none").
BOUNDS = {
    "Recipe": {
        "seed": (0, 2**63 - 1),
        "epochs": (1, 10_000),
        "batch_size": (1, MNIST_TRAIN),
        "val_size": (1, MNIST_TRAIN - 1),
        "train_subset": (0, MNIST_TRAIN),
        "test_subset": (0, MNIST_TEST),
        "pipeline_mix": (0, 1),
        "not_a_digit": (0, 2),
    },
    "OptimConfig": {
        "lr": (1e-12, 10.0),
        "weight_decay": (0.0, 10.0),
        "warmup": (0.0, 1.0),
        "final_lr": (0.0, 1.0),
        "label_smoothing": (0.0, 0.99),
    },
    "AugmentConfig": {
        "rotate": (0.0, 180.0),
        "scale": (0.0, 0.9),
        "shear": (0.0, 2.0),
        "translate": (0.0, 14.0),
        "elastic": (0.0, 14.0),
        "elastic_grid": (2, 28),
        "stroke": (0.0, 1.0),
        "flag_ones": (0.0, 1.0),
    },
}


def _build(kind: type, values: dict[str, Any], where: str):
    """kind(**values), refusing unknown keys and values of the wrong type with a clear message."""
    known = {f.name: f for f in fields(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(known)}")
    for key, value in values.items():
        default = known[key].default
        if isinstance(default, int | float) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RecipeError(f"{where}: {key} must be a number, got {value!r}")
            if isinstance(default, int) and not isinstance(default, bool) and not isinstance(value, int):
                raise RecipeError(f"{where}: {key} must be an integer, got {value!r}")
        if (isinstance(default, str) or known[key].type == "str") and not isinstance(value, str):
            raise RecipeError(f"{where}: {key} must be a string, got {value!r}")
    try:
        return kind(**values)
    except (TypeError, ValueError) as err:  # a config's own checks (LeNetConfig's)
        raise RecipeError(f"{where}: {err}") from None
