"""The line reader's training (a recipe whose [model] has line_hidden > 0): synthetic lines of 1 to 8
MNIST digits, touching, tight or spaced, read with CTC; tested on lines made of MNIST test digits."""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import lenet.pipeline.line
import lenet.training.pieces
from lenet.model import LeNet5, best_path
from lenet.pipeline.line import LINE_HEIGHT, line_pixels
from lenet.training.data import cached_tensors, load_mnist, on_all_cores, split_train_val
from lenet.training.pieces import GAPS, line_of_digits, styled_digit
from lenet.training.recipe import Recipe

KINDS = ("touching", "tight", "spaced")  # GAPS' order
KIND_SHARES = (0.5, 0.3, 0.2)  # most lines touch: that is what the line reader is for
MAX_DIGITS = 8
DRAW_HEIGHT = 64  # digits are drawn this tall, then the line is scaled to LINE_HEIGHT as a number is
LINES_PER_JOB = 1000  # lines made per job (one seed each): the same lines on any number of cores
TEST_LINES = 600  # lines of MNIST test digits for the checkpoint's metrics, 200 of each kind
DRY_RUN_LINES = 64


def synthetic_line(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, kind: int | None = None
) -> tuple[np.ndarray, list[int], int]:
    """(uint8 (28, W) line as line_pixels gives it, its digits, its kind's index in KINDS): 1 to 8 of
    `images` (N, 28, 28) drawn as styled_digit draws them, set side by side as a number's digits are."""
    kind = int(rng.choice(len(KINDS), p=KIND_SHARES)) if kind is None else kind
    length = int(rng.integers(1, MAX_DIGITS + 1))
    picks = rng.integers(len(images), size=length)
    digits = [styled_digit(images[i], int(DRAW_HEIGHT * rng.uniform(0.88, 1.0)), rng) for i in picks]
    spaces = [round(rng.uniform(*GAPS[kind]) * DRAW_HEIGHT / 28) for _ in range(length - 1)]
    ink, _ = line_of_digits(digits, spaces, DRAW_HEIGHT, 2, DRAW_HEIGHT // 7, rng)
    pixels = line_pixels(ink)[0].numpy()  # styled digits always hold ink
    return np.round(pixels * 255).astype(np.uint8), [int(labels[i]) for i in picks], kind


def _lines_job(job: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    images, labels, seed, count, kind = job
    rng = np.random.default_rng(seed)
    made = [synthetic_line(images, labels, rng, None if kind < 0 else kind) for _ in range(count)]
    columns = np.concatenate([pixels for pixels, _, _ in made], axis=1)
    digits = np.array([d for _, line, _ in made for d in line], np.int64)
    lengths = np.array([[pixels.shape[1], len(line), kind] for pixels, line, kind in made], np.int64)
    return columns, digits, lengths[:, :2], lengths[:, 2]


def synthetic_lines(
    images: torch.Tensor, labels: torch.Tensor, count: int, seed: int, kind: int = -1
) -> dict[str, torch.Tensor]:
    """`count` synthetic lines (of one kind, or mixed with kind -1), as flat tensors: "columns" uint8
    (28, total width) the lines side by side, "digits" int64 all their digits, "sizes" int64
    (count, 2) each line's width and digit count, "kinds" int64 (count,). Made on all cores."""
    jobs = []
    for job in range(-(-count // LINES_PER_JOB)):
        # Each job gets its own draw of digits, not all of MNIST to copy to its process.
        lines = min(LINES_PER_JOB, count - job * LINES_PER_JOB)
        drawn = np.random.default_rng([seed, job, 1]).integers(len(images), size=MAX_DIGITS * lines)
        jobs.append((images.numpy()[drawn], labels.numpy()[drawn], [seed, job], lines, kind))
    done = on_all_cores(_lines_job, jobs)
    return {
        "columns": torch.from_numpy(np.concatenate([d[0] for d in done], axis=1)),
        "digits": torch.from_numpy(np.concatenate([d[1] for d in done])),
        "sizes": torch.from_numpy(np.concatenate([d[2] for d in done])),
        "kinds": torch.from_numpy(np.concatenate([d[3] for d in done])),
    }


def cached_lines(images: torch.Tensor, labels: torch.Tensor, count: int, seed: int, kind: int = -1):
    """synthetic_lines, made once for these digits, count, seed and code, then read back."""
    code = hashlib.sha256()
    for module in (lenet.pipeline.line, lenet.training.pieces):
        code.update(Path(module.__file__).read_bytes())
    code.update(Path(__file__).read_bytes())
    code.update(images.numpy().tobytes())

    def well_formed(tensors: dict[str, torch.Tensor]) -> bool:
        sizes, columns = tensors.get("sizes"), tensors.get("columns")
        return (
            sizes is not None
            and columns is not None
            and sizes.shape == (count, 2)
            and columns.shape == (LINE_HEIGHT, int(sizes[:, 0].sum()))
            and tensors.get("digits") is not None
            and len(tensors["digits"]) == int(sizes[:, 1].sum())
            and tensors.get("kinds") is not None
            and tensors["kinds"].shape == (count,)
        )

    key = f"lines-{count}-seed{seed}-kind{kind}-{code.hexdigest()[:12]}"
    return cached_tensors(key, lambda: synthetic_lines(images, labels, count, seed, kind), valid=well_formed)


def line_batches(lines: dict[str, torch.Tensor], batch_size: int, rng: np.random.Generator | None):
    """(pixels (B, 1, 28, W) in [0, 1], digits (sum of lengths,), lengths (B,), indices (B,)) batches:
    lines of about the same width together (shuffled by `rng`, in order without), zero-padded."""
    widths, lengths = lines["sizes"][:, 0], lines["sizes"][:, 1]
    starts = torch.cumsum(widths, 0) - widths
    digit_starts = torch.cumsum(lengths, 0) - lengths
    jitter = rng.uniform(0, 24, len(widths)) if rng is not None else np.zeros(len(widths))
    order = np.argsort(widths.numpy() + jitter, kind="stable")
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(chunks)
    for chunk in chunks:
        chunk = torch.from_numpy(chunk)
        pixels = torch.zeros(len(chunk), 1, LINE_HEIGHT, int(widths[chunk].max()))
        for row, i in enumerate(chunk.tolist()):
            line = lines["columns"][:, starts[i] : starts[i] + widths[i]]
            pixels[row, 0, :, : widths[i]] = line.float() / 255
        digits = torch.cat([lines["digits"][digit_starts[i] : digit_starts[i] + lengths[i]] for i in chunk.tolist()])
        yield pixels, digits, lengths[chunk], chunk


@torch.inference_mode()
def line_accuracy(model: LeNet5, lines: dict[str, torch.Tensor], batch_size: int = 256) -> dict[str, Any]:
    """Exact-line accuracy (every digit right, none missing or extra), in all and per kind."""
    model.eval()
    right = torch.zeros(len(lines["sizes"]), dtype=torch.bool)
    for pixels, digits, lengths, chunk in line_batches(lines, batch_size, None):
        logits = model(pixels)
        truths = torch.split(digits, lengths.tolist())
        for row, i in enumerate(chunk.tolist()):
            right[i] = [label for label, _, _ in best_path(logits[row])] == truths[row].tolist()
    kinds = lines["kinds"]
    by_kind = {name: float(right[kinds == k].float().mean()) for k, name in enumerate(KINDS) if (kinds == k).any()}
    return {"accuracy": float(right.float().mean()), "by_kind": by_kind}


def train_lines(
    recipe: Recipe, data_dir: str | Path | None, dry_run: bool, device: torch.device, log=print
) -> tuple[LeNet5, dict[str, Any]]:
    """Train the recipe's line reader on recipe.lines synthetic lines of MNIST training digits (the
    recipe's validation digits make its validation lines) and test it on lines of MNIST test digits:
    (the model, on the CPU; metrics.json's content). The caller saves the checkpoint."""
    from lenet.training.train import epoch_seed, learning_rate  # train.py dispatches line readers here

    model = LeNet5(recipe.model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.optim.lr, weight_decay=recipe.optim.weight_decay)
    images, labels = load_mnist(data_dir, train=True)
    (train_images, train_labels), (val_images, val_labels) = split_train_val(images, labels, recipe.val_size)
    test_images, test_labels = load_mnist(data_dir, train=False)
    count, checks = (DRY_RUN_LINES, DRY_RUN_LINES) if dry_run else (recipe.lines, TEST_LINES)
    log(f"drawing {count:,} synthetic lines of 1-{MAX_DIGITS} MNIST training digits (cached)")
    train_set = cached_lines(train_images, train_labels, count, recipe.seed)
    val_set = cached_lines(val_images, val_labels, checks, recipe.seed + 1)
    test_set = {
        name: cached_lines(test_images, test_labels, checks // len(KINDS), recipe.seed + 2, kind)
        for kind, name in enumerate(KINDS)
    }
    test_set = {  # the three kinds' lines as one set: columns side by side, the rest one after another
        key: torch.cat([part[key] for part in test_set.values()], dim=1 if key == "columns" else 0) for key in train_set
    }
    blank = recipe.model.num_classes - 1
    batches = math.ceil(count / recipe.batch_size)
    total_steps = recipe.epochs * batches
    log(
        f"{recipe.name}: LeNet-5 line reader, {model.num_parameters():,} parameters, {count:,} lines, "
        f"{recipe.epochs} epochs on {device}, {torch.get_num_threads()} threads"
    )
    history, start = [], time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        torch.manual_seed(epoch_seed(recipe.seed, epoch))
        rng = np.random.default_rng(epoch_seed(recipe.seed, epoch))
        losses, began = [], time.perf_counter()
        batched = line_batches(train_set, recipe.batch_size, rng)
        bar = tqdm(batched, total=batches, desc=f"epoch {epoch + 1}", leave=False)
        for step, (pixels, digits, lengths, _) in enumerate(bar, start=epoch * batches):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, total_steps, recipe.optim)
            logits = model(pixels.to(device))  # (B, T, classes)
            frames = torch.full((len(pixels),), logits.shape[1], dtype=torch.long)
            loss = F.ctc_loss(
                logits.log_softmax(-1).transpose(0, 1).cpu(), digits, frames, lengths, blank=blank, zero_infinity=True
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.3f}")
        val = line_accuracy(model, val_set)
        seconds = round(time.perf_counter() - began, 2)
        loss, accuracy = float(np.mean(losses)), val["accuracy"]
        history.append({"epoch": epoch + 1, "train_loss": round(loss, 5), "val_accuracy": accuracy, "seconds": seconds})
        log(f"epoch {epoch + 1:>3}/{recipe.epochs}  ctc loss {loss:.4f}  val lines {accuracy:.2%}  {seconds:.0f} s")
    wall = time.perf_counter() - start
    test = line_accuracy(model, test_set)
    kinds = "  ".join(f"{name} {value:.1%}" for name, value in test["by_kind"].items())
    log(f"test lines (MNIST test digits): {test['accuracy']:.2%} read exactly ({kinds}); {wall:.0f} s wall")
    return model.cpu(), {
        "recipe": recipe.name,
        "variant": "line reader",
        "parameters": model.num_parameters(),
        "test_line_accuracy": test["accuracy"],
        "test_line_accuracy_by_kind": test["by_kind"],
        "test_lines": len(test_set["sizes"]),
        "train_lines": count,
        "val_accuracy": history[-1]["val_accuracy"] if history else None,
        "epochs": recipe.epochs,
        "seed": recipe.seed,
        "wall_seconds": round(wall, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "history": history,
        "recipe_config": recipe.to_dict(),
    }
