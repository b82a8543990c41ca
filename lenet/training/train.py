"""Training: `train_one_epoch` and `evaluate`, driven by a Recipe into a resumable, atomic checkpoint."""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lenet.checkpoint import (
    check_output_folder,
    clear_training_state,
    load_model,
    load_training_state,
    read_training_progress,
    save_checkpoint,
    save_training_state,
)
from lenet.model import LeNet5
from lenet.training.augment import AugmentConfig, augment
from lenet.training.data import iterate_batches, load_mnist, split_train_val, through_pipeline
from lenet.training.lines import train_lines
from lenet.training.pieces import cached_number_parts, piece_images
from lenet.training.recipe import OptimConfig, Recipe, RecipeError

DRY_RUN_BATCHES = 2


def pick_device(name: str = "auto") -> torch.device:
    """`auto` -> the GPU when there is one, else the CPU; a device this machine lacks is a RecipeError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise RecipeError(f"--device {name!r} is not a device: auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise RecipeError(f"--device {name}: this machine has no such CUDA GPU (--device auto picks what it has)")
    if device.type not in ("cpu", "cuda"):
        raise RecipeError(f"--device {name}: only cpu and cuda are supported")
    return device


def learning_rate(step: int, total_steps: int, optim: OptimConfig) -> float:
    """One-cycle schedule as a pure function of the step, so a resumed run needs no scheduler state."""
    warmup_steps = max(1, int(optim.warmup * total_steps))
    if step < warmup_steps:
        return optim.lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    floor = optim.lr * optim.final_lr
    return floor + (optim.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def epoch_seed(seed: int, epoch: int) -> int:
    """Each epoch draws its shuffling, augmentation and dropout from its own seed, so resuming at
    any epoch boundary replays exactly what an uninterrupted run would have done."""
    return seed * 100_003 + epoch


def train_one_epoch(
    model: LeNet5,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: Recipe,
    epoch: int,
    device: torch.device,
) -> dict[str, float]:
    """One pass over `images` with augmentation; mean loss, accuracy, images/s.

    `images` is uint8 (N, 28, 28), or (N, 2, 28, 28) holding each digit as MNIST has it and as the
    preprocessing pipeline renders it, of which a `recipe.pipeline_mix` share is shown rendered.
    """
    model.train()
    generator = torch.Generator().manual_seed(epoch_seed(recipe.seed, epoch))
    torch.manual_seed(epoch_seed(recipe.seed, epoch))  # dropout
    steps_per_epoch = math.ceil(len(images) / recipe.batch_size)
    total_steps = steps_per_epoch * recipe.epochs
    batches = iterate_batches(images, labels, recipe.batch_size, generator=generator)
    # disable=None: a live bar in a terminal, none in CI logs (the per-epoch summary line stays).
    desc = f"epoch {epoch + 1}/{recipe.epochs}"
    bar = tqdm(batches, total=steps_per_epoch, desc=desc, leave=False, unit="batch", disable=None)
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for step, (pixels, target) in enumerate(bar):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(epoch * steps_per_epoch + step, total_steps, recipe.optim)
        if pixels.shape[1] == 2:  # (B, 2, 28, 28): pick the MNIST or the rendered version of each digit
            rendered = (torch.rand(len(pixels), generator=generator) < recipe.pipeline_mix).view(-1, 1, 1, 1)
            pixels = torch.where(rendered, pixels[:, 1:], pixels[:, :1])  # (B, 1, 28, 28)
        pixels, target = pixels.to(device, non_blocking=True), target.to(device, non_blocking=True)
        pixels = augment(pixels, recipe.augment, generator, labels=target)  # (B, 1, 28, 28)
        logits = model(pixels)  # (B, 10)
        loss = F.cross_entropy(logits, target, label_smoothing=recipe.optim.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(target)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(target)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}")
    bar.close()
    seconds = time.perf_counter() - start
    return {
        "loss": loss_sum / seen,
        "accuracy": correct / seen,
        "images": seen,
        "seconds": seconds,
        "images_per_s": seen / seconds,
    }


@torch.no_grad()
def evaluate(
    model: LeNet5, images: torch.Tensor, labels: torch.Tensor, device: torch.device, batch_size: int = 1000
) -> dict[str, Any]:
    """Loss, accuracy, per-class accuracy, confusion matrix [true][predicted] and predictions."""
    model.eval()
    num_classes = model.config.num_classes
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    predictions, loss_sum = [], 0.0
    for pixels, target in iterate_batches(images, labels, batch_size):
        logits = model(pixels.to(device)).cpu()  # (B, 10)
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        predicted = logits.argmax(1)
        predictions.append(predicted)
        confusion += torch.bincount(target * num_classes + predicted, minlength=num_classes**2).view(
            num_classes, num_classes
        )
    per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()
    return {
        "loss": loss_sum / len(images),
        "accuracy": confusion.diag().sum().item() / len(images),
        "per_class_accuracy": [round(v, 4) for v in per_class.tolist()],
        "confusion_matrix": confusion.tolist(),
        "predictions": torch.cat(predictions),
    }


def cpu_model() -> str:
    """The CPU's marketing name, for the metrics (it explains the wall time)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class Splits:
    """(digits, labels) for training, validation and the final test. Digits are uint8 (N, 28, 28);
    training's are (N, 2, 28, 28) when the recipe mixes in the pipeline's rendering of each."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class ExtraData:
    """Corrections (lenet.corrections) to train on beside MNIST: (N, 28, 28) uint8 model inputs and
    their labels, shown as `weight` of each epoch's images (repeated, and augmented like the rest)."""

    source: str
    images: torch.Tensor
    labels: torch.Tensor
    weight: float = 0.01

    def __post_init__(self):
        if not 0 < self.weight < 1:
            raise ValueError(f"the weight of the extra data must be between 0 and 1 (exclusive), got {self.weight}")


def mix_in(train: tuple[torch.Tensor, torch.Tensor], extra: ExtraData) -> tuple[torch.Tensor, torch.Tensor]:
    """`train` with `extra` repeated to make up `extra.weight` of the result. The extra images are
    model inputs already, so where training holds (N, 2, 28, 28) pairs they fill both places."""
    images, labels = train
    count = max(len(extra.images), round(extra.weight / (1 - extra.weight) * len(images)))
    take = torch.arange(count) % len(extra.images)
    added = extra.images[take]  # (count, 28, 28)
    if images.dim() == 4:
        added = torch.stack([added, added], dim=1)  # (count, 2, 28, 28)
    return torch.cat([images, added]), torch.cat([labels, extra.labels[take].to(labels.dtype)])


def prepare_data(recipe: Recipe, data_dir: str | Path | None, dry_run: bool = False, log=print) -> Splits:
    """MNIST split as the recipe says (a fixed validation split, optional subsets), with the pipeline's
    rendering beside each training digit when `recipe.pipeline_mix` > 0, and `recipe.not_a_digit`
    "not one digit" images added to the training set (lenet.training.pieces). A dry run keeps
    DRY_RUN_BATCHES batches of training digits and 256 validation and test digits."""
    images, labels = load_mnist(data_dir, train=True)
    (train_images, train_labels), (val_images, val_labels) = split_train_val(images, labels, recipe.val_size)
    if recipe.train_subset:
        train_images, train_labels = train_images[: recipe.train_subset], train_labels[: recipe.train_subset]
    test_images, test_labels = load_mnist(data_dir, train=False)
    if recipe.test_subset:
        test_images, test_labels = test_images[: recipe.test_subset], test_labels[: recipe.test_subset]
    if dry_run:
        keep = DRY_RUN_BATCHES * recipe.batch_size
        train_images, train_labels = train_images[:keep], train_labels[:keep]
        val_images, val_labels = val_images[:256], val_labels[:256]
        test_images, test_labels = test_images[:256], test_labels[:256]
    pieces = None
    if recipe.not_a_digit > 0:
        count = round(recipe.not_a_digit * len(train_images))
        made, made_labels = piece_images(train_images, train_labels, count, recipe.seed, recipe.model.num_classes - 1)
        log(f"rendering {count:,} digits run together, cut apart or beside a sliver of another (cached)")
        pieces = (through_pipeline(made, f"pieces-seed{recipe.seed}"), made_labels)
    if recipe.number_parts > 0:
        numbers = min(recipe.number_parts, 10) if dry_run else recipe.number_parts
        log(f"cutting {numbers:,} synthetic numbers as the number reader does, labelling each part (cached)")
        parts = cached_number_parts(train_images, train_labels, numbers, recipe.seed, recipe.model.num_classes - 1)
        pieces = parts if pieces is None else (torch.cat([pieces[0], parts[0]]), torch.cat([pieces[1], parts[1]]))
    if recipe.pipeline_mix > 0:
        log(f"rendering {len(train_images):,} training digits through the preprocessing pipeline (cached)")
        train_images = torch.stack([train_images, through_pipeline(train_images, "mnist-train")], dim=1)
    if pieces is not None:  # always shown as the pipeline renders them: that is how the reader meets them
        rendered = pieces[0] if train_images.dim() == 3 else torch.stack([pieces[0], pieces[0]], dim=1)
        train_images, train_labels = torch.cat([train_images, rendered]), torch.cat([train_labels, pieces[1]])
    return Splits((train_images, train_labels), (val_images, val_labels), (test_images, test_labels))


def run_epochs(
    model: LeNet5,
    optimizer: torch.optim.Optimizer,
    data: Splits,
    recipe: Recipe,
    out: Path,
    device: torch.device,
    resume: bool = False,
    log=print,
    made_by: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], float]:
    """Train and validate epoch by epoch, saving the training state after each but the last (so a
    killed run resumes where it stopped), with `made_by` (the recipe and extra data), which a resumed
    run must match; (the per-epoch history, wall seconds of the whole run)."""
    history: list[dict[str, Any]] = []
    start_epoch, wall_before = 0, 0.0
    if resume:
        saved = read_training_progress(out)
        if saved is not None and saved.get("made_by") != made_by:
            raise RecipeError(
                f"the training state in {out} is another run's ({_differences(saved.get('made_by'), made_by)} differ): "
                "resume with the same recipe and --extra-data, or train into another --out"
            )
        progress = load_training_state(out, model, optimizer)
        if progress is None:
            log(f"no training state in {out}; starting from scratch")
        else:
            start_epoch, history, wall_before = progress["epoch"] + 1, progress["history"], progress["wall_seconds"]
            log(f"resuming {recipe.name} after epoch {start_epoch} of {recipe.epochs} from {out}")
    (train_images, train_labels), (val_images, val_labels) = data.train, data.val
    log(
        f"{recipe.name}: {model.variant} LeNet-5, {model.num_parameters():,} parameters, "
        f"{len(train_images):,} train / {len(val_images):,} val images, {recipe.epochs} epochs on {device}, "
        f"{torch.get_num_threads()} threads"
    )
    start = time.perf_counter()
    for epoch in range(start_epoch, recipe.epochs):
        stats = train_one_epoch(model, optimizer, train_images, train_labels, recipe, epoch, device)
        val = evaluate(model, val_images, val_labels, device)
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": round(stats["loss"], 5),
                "train_accuracy": round(stats["accuracy"], 5),
                "val_loss": round(val["loss"], 5),
                "val_accuracy": round(val["accuracy"], 5),
                "images": stats["images"],
                "seconds": round(stats["seconds"], 2),
                "images_per_s": round(stats["images_per_s"]),
            }
        )
        log(
            f"epoch {epoch + 1:>3}/{recipe.epochs}  train loss {stats['loss']:.4f} acc {stats['accuracy']:.4f}  "
            f"val loss {val['loss']:.4f} acc {val['accuracy']:.4f}  {stats['images_per_s']:,.0f} img/s"
        )
        if epoch + 1 < recipe.epochs:
            wall = wall_before + time.perf_counter() - start
            progress = {"epoch": epoch, "history": history, "wall_seconds": wall, "made_by": made_by}
            save_training_state(out, model, optimizer, progress)
    return history, wall_before + time.perf_counter() - start


def _differences(saved: Any, made_by: dict[str, Any] | None) -> str:
    """The settings that differ between two runs' `made_by`, as "epochs, optim.lr" (at most 5)."""

    def flat(value: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(value, dict):
            return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): value}

    old, new = flat(saved if isinstance(saved, dict) else {}), flat(made_by or {})
    names = [key.removeprefix("recipe.") for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") if names else "its settings"


def final_metrics(
    model: LeNet5,
    recipe: Recipe,
    data: Splits,
    history: list[dict[str, Any]],
    wall_seconds: float,
    device: torch.device,
    log=print,
) -> dict[str, Any]:
    """Test once, as MNIST has the digits and as the pipeline renders them, and gather what
    metrics.json records: accuracy, confusion, per-epoch history, seed, time, machine."""
    test_images, test_labels = data.test
    test = evaluate(model, test_images, test_labels, device)
    # The same test digits as the app would see them after preprocessing: the pipeline must cost nothing.
    test_pipeline = evaluate(model, through_pipeline(test_images, "mnist-test"), test_labels, device)
    train_seconds = sum(h["seconds"] for h in history)
    log(
        f"test accuracy {test['accuracy']:.4%} on {len(test_images):,} images "
        f"({test_pipeline['accuracy']:.4%} through the preprocessing pipeline); {wall_seconds:.0f} s wall"
    )
    return {
        "recipe": recipe.name,
        "variant": model.variant,
        "parameters": model.num_parameters(),
        "test_accuracy": test["accuracy"],
        "test_images": len(test_images),
        "test_loss": round(test["loss"], 5),
        "test_accuracy_pipeline": test_pipeline["accuracy"],
        "per_class_accuracy": test["per_class_accuracy"],
        "confusion_matrix": test["confusion_matrix"],
        "val_accuracy": history[-1]["val_accuracy"] if history else None,
        "epochs": recipe.epochs,
        "seed": recipe.seed,
        "wall_seconds": round(wall_seconds, 1),
        "images_per_s": round(sum(h["images"] for h in history) / train_seconds) if train_seconds else None,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "history": history,
        "recipe_config": recipe.to_dict(),
    }


def train(
    recipe: Recipe,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    resume: bool = False,
    dry_run: bool = False,
    device: str = "auto",
    extra: ExtraData | None = None,
    log=print,
) -> dict[str, Any]:
    """Train the recipe's model, validate every epoch, test once, and write the checkpoint to `out`.

    The training state is saved after every epoch, so `resume=True` continues an interrupted run
    from its last completed epoch with the weights an uninterrupted run would have reached. A dry
    run is one epoch of DRY_RUN_BATCHES batches, to check the wiring. `extra` (corrections) is
    mixed into the training set, and the result reports its accuracy on them beside MNIST's.
    """
    out = check_output_folder(out or recipe.out)  # before any work: a save replaces the whole folder
    if dry_run and read_training_progress(out) is not None:
        raise RecipeError(f"{out} holds an unfinished run's training state, which a dry run would replace")
    # What made this run: a resumed run must be the same one (its state says what it was).
    made_by = {"recipe": recipe.to_dict(), "extra_data": None if extra is None else [str(extra.source), extra.weight]}
    made_by = json.loads(json.dumps(made_by))  # as the saved state will read back (tuples as lists)
    if dry_run:
        recipe = replace(recipe, epochs=1)
    torch.manual_seed(recipe.seed)  # weight initialisation
    run_device = pick_device(device)
    if recipe.model.line_hidden:  # a line reader learns from lines of digits (lenet.training.lines)
        if resume or extra is not None:
            raise RecipeError(f"{recipe.name}: a line reader neither resumes nor learns from corrections")
        model, metrics = train_lines(recipe, data_dir, dry_run, run_device, log)
        save_checkpoint(model, out, {**metrics, "dry_run": dry_run})
        log(f"wrote {out}")
        return {**metrics, "dry_run": dry_run}
    model = LeNet5(recipe.model)
    if recipe.init:
        start = load_model(recipe.init)
        if start.config != recipe.model:
            raise RecipeError(f"{recipe.name}: init {recipe.init} is a {start.config}, not the recipe's {recipe.model}")
        model.load_state_dict(start.state_dict())
        log(f"starting from the weights in {recipe.init}")
    model = model.to(run_device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.optim.lr, weight_decay=recipe.optim.weight_decay)
    data = prepare_data(recipe, data_dir, dry_run, log)
    if extra is not None:
        data = replace(data, train=mix_in(data.train, extra))
        log(f"mixing in {len(extra.images):,} corrections from {extra.source} as {extra.weight:.0%} of each epoch")
    history, wall_seconds = run_epochs(model, optimizer, data, recipe, out, run_device, resume, log, made_by)
    metrics = {**final_metrics(model, recipe, data, history, wall_seconds, run_device, log), "dry_run": dry_run}
    if extra is not None:
        # Reported beside MNIST's figure, so a model never trades MNIST for corrections unseen.
        on_extra = evaluate(model, extra.images, extra.labels, run_device)["accuracy"]
        metrics["extra_data"] = {
            "source": extra.source,
            "images": len(extra.images),
            "weight": extra.weight,
            "accuracy": on_extra,
        }
        log(f"corrections: {on_extra:.2%} on {len(extra.images):,} images (MNIST test {metrics['test_accuracy']:.2%})")
    model.cpu()
    save_checkpoint(model, out, metrics)
    clear_training_state(out)
    log(f"wrote {out}")
    return metrics


__all__ = ["AugmentConfig", "ExtraData", "evaluate", "learning_rate", "train", "train_one_epoch"]
