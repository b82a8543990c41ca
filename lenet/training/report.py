"""Pictures of an evaluation drawn with Pillow: confusion matrix, misclassified digits, training curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

FONT = ImageFont.load_default(size=14)
SMALL = ImageFont.load_default(size=11)
BLUE = (31, 119, 180)
ORANGE = (255, 127, 14)
SPLITS = (("train", BLUE), ("val", ORANGE))


def confusion_image(confusion: list[list[int]], cell: int = 44) -> Image.Image:
    """The confusion matrix as a heat map: rows are true labels, columns predictions; errors in red."""
    n = len(confusion)
    margin = 60
    image = Image.new("RGB", (margin + n * cell + 10, margin + n * cell + 10), "white")
    draw = ImageDraw.Draw(image)
    row_totals = [max(1, sum(row)) for row in confusion]
    for t in range(n):
        for p in range(n):
            count = confusion[t][p]
            share = count / row_totals[t]
            if t == p:
                shade = int(255 - 200 * share)
                fill = (shade, shade, 255)
            else:
                shade = int(255 - min(1.0, share * 20) * 200)  # errors are rare: magnify them
                fill = (255, shade, shade)
            x, y = margin + p * cell, margin + t * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=fill, outline=(220, 220, 220))
            if count:
                colour = "white" if t == p and share > 0.6 else "black"
                draw.text((x + cell / 2, y + cell / 2), str(count), fill=colour, font=SMALL, anchor="mm")
        draw.text((margin - 12, margin + t * cell + cell / 2), str(t), fill="black", font=FONT, anchor="mm")
        draw.text((margin + t * cell + cell / 2, margin - 12), str(t), fill="black", font=FONT, anchor="mm")
    draw.text((margin + n * cell / 2, 14), "predicted", fill="black", font=FONT, anchor="mm")
    draw.text((8, margin - 12), "true", fill="black", font=FONT, anchor="lm")
    return image


def misclassified_gallery(
    images: torch.Tensor, labels: torch.Tensor, predictions: torch.Tensor, columns: int = 12, limit: int = 120
) -> Image.Image:
    """Up to `limit` misclassified digits (N, 28, 28) uint8, each captioned 'true -> predicted'."""
    wrong = (predictions != labels).nonzero().flatten()[:limit].tolist()
    tile, scale = 64, 2
    rows = max(1, -(-len(wrong) // columns))
    image = Image.new("RGB", (columns * tile, rows * tile + 24), "white")
    draw = ImageDraw.Draw(image)
    total = int((predictions != labels).sum())
    draw.text((6, 4), f"{total} misclassified (showing {len(wrong)})", fill="black", font=FONT)
    for slot, index in enumerate(wrong):
        x, y = (slot % columns) * tile, 24 + (slot // columns) * tile
        digit = Image.fromarray(255 - images[index].numpy()).resize((28 * scale, 28 * scale), Image.Resampling.NEAREST)
        image.paste(digit, (x + (tile - 28 * scale) // 2, y))
        caption = f"{int(labels[index])}->{int(predictions[index])}"
        draw.text((x + tile / 2, y + 28 * scale + 1), caption, fill=(200, 0, 0), font=SMALL, anchor="mt")
    return image


def training_curves(history: list[dict[str, Any]], width: int = 720, height: int = 300) -> Image.Image:
    """Two panels from the run's per-epoch log: loss (train, val) and validation error in percent."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    epochs = [h["epoch"] for h in history]

    def series(key: str, transform=lambda v: v) -> list[tuple[str, list[float], tuple[int, int, int]]]:
        return [(split, [transform(h[f"{split}_{key}"]) for h in history], colour) for split, colour in SPLITS]

    panels = [("loss", series("loss")), ("error %", series("accuracy", lambda a: 100 * (1 - a)))]
    panel_w = width // 2
    for i, (title, lines) in enumerate(panels):
        left, top, right, bottom = i * panel_w + 50, 30, (i + 1) * panel_w - 15, height - 35
        draw.rectangle([left, top, right, bottom], outline="black")
        draw.text(((left + right) / 2, 12), title, fill="black", font=FONT, anchor="mm")
        values = [v for _, ys, _ in lines for v in ys]
        low, high = 0.0, max(values) * 1.05 if values else 1.0
        for tick in range(5):
            value = low + (high - low) * tick / 4
            y = bottom - (bottom - top) * tick / 4
            draw.line([left - 4, y, left, y], fill="black")
            draw.text((left - 6, y), f"{value:.3g}", fill="black", font=SMALL, anchor="rm")
        span = max(1, (epochs[-1] - epochs[0]) if epochs else 1)
        x_step, y_step = (right - left) / span, (bottom - top) / (high - low or 1)
        for _, ys, colour in lines:
            pairs = zip(epochs, ys, strict=True)
            points = [(left + x_step * (e - epochs[0]), bottom - y_step * (v - low)) for e, v in pairs]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        for k, (name, _, colour) in enumerate(lines):
            draw.text((right - 60, top + 8 + 16 * k), name, fill=colour, font=SMALL)
        draw.text(((left + right) / 2, bottom + 18), "epoch", fill="black", font=SMALL, anchor="mm")
    return image


def write_report(
    out: str | Path,
    result: dict[str, Any],
    images: torch.Tensor,
    labels: torch.Tensor,
    history: list[dict[str, Any]] | None,
) -> list[Path]:
    """Write confusion.png, misclassified.png and (when the run logged epochs) curves.png to `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "confusion.png", out / "misclassified.png"]
    confusion_image(result["confusion_matrix"]).save(written[0])
    misclassified_gallery(images, labels, result["predictions"]).save(written[1])
    if history:
        written.append(out / "curves.png")
        training_curves(history).save(written[-1])
    return written
