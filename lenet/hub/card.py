"""The model card pushed with the weights: Hub metadata and text, generated from the model and metrics.json."""

from __future__ import annotations

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData, constants
from torch import nn

from lenet.model import LeNet5, Subsample

PAPER_LAYERS = ("C1", "S2", "C3", "S4", "C5", "F6", "output")


def architecture_rows(model: LeNet5) -> list[list]:
    """[layer, what it does, output shape, parameters] for the paper's seven layers, measured on
    the model itself (a forward pass with hooks), so the table cannot drift from the code."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}
    hooks = [
        module.register_forward_hook(lambda module, _, out: shapes.__setitem__(module, tuple(out.shape[1:])))
        for module in model.modules()
    ]
    was_training = model.training
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for hook in hooks:
        hook.remove()

    names = iter(PAPER_LAYERS)
    rows: list[list] = []
    for module in [*model.features, *model.classifier]:
        count = sum(p.numel() for p in module.parameters())
        if isinstance(module, nn.Conv2d):
            what = f"convolution {module.kernel_size[0]}x{module.kernel_size[1]}, {module.out_channels} maps"
        elif isinstance(module, nn.MaxPool2d):
            what = "max-pool 2x2"
        elif isinstance(module, Subsample):
            what = "2x2 average x trainable coefficient + bias"
        elif isinstance(module, nn.Linear):
            what = f"fully connected, {module.out_features} units"
        else:
            if count and rows:  # batch norm belongs to the convolution before it
                rows[-1][1] += " + batch norm"
                rows[-1][3] += count
            continue
        rows.append([next(names), what, "x".join(map(str, shapes[module])), count])
    return rows


def card_data(metrics: dict) -> ModelCardData:
    """The YAML metadata: library, license, dataset, task, tags, and the test accuracy as model-index."""
    accuracy = EvalResult(
        task_type="image-classification",
        task_name="Handwritten digit classification",
        dataset_type="mnist",
        dataset_name="MNIST",
        dataset_split="test",
        metric_type="accuracy",
        metric_name="Test accuracy",
        metric_value=metrics["test_accuracy"],
    )
    return ModelCardData(
        model_name=f"LeNet-5 ({metrics.get('variant', 'modern')})",
        library_name="lenet",
        license="mit",
        datasets=["mnist"],
        metrics=["accuracy"],
        pipeline_tag="image-classification",
        tags=["lenet", "mnist", "image-classification", "pytorch", "safetensors"],
        eval_results=[accuracy],
    )


def model_card(model: LeNet5, metrics: dict, repo_id: str, space_id: str | None = None) -> ModelCard:
    """The whole card for `repo_id`; links to `space_id`'s Space when given."""
    recipe = metrics.get("recipe_config", {})
    optim, augment = recipe.get("optim", {}), recipe.get("augment", {})
    hub = constants.ENDPOINT.rstrip("/")
    rows = architecture_rows(model)
    table = "\n".join(f"| {name} | {what} | {shape} | {count:,} |" for name, what, shape, count in rows)
    per_class = metrics.get("per_class_accuracy") or []
    digits = " | ".join(str(d) for d in range(len(per_class)))
    per_class_row = " | ".join(f"{a:.2%}" for a in per_class)
    space = (
        f"Try it in the Space: [{space_id}]({hub}/spaces/{space_id}), draw a digit or upload a photo."
        if space_id
        else "The project's Gradio app serves this model."
    )
    pipeline = metrics.get("test_accuracy_pipeline")
    pipeline_line = (
        f"\nThrough the real-world preprocessing pipeline (decode, clean, re-render) the same test digits "
        f"score {pipeline:.2%}.\n"
        if pipeline
        else ""
    )
    trained_on = (
        f"{metrics.get('wall_seconds', 0):.0f} s on {metrics.get('device', '?')} ({metrics.get('cpu', '?')}, "
        f"{metrics.get('threads', '?')} threads, torch {metrics.get('torch', '?')})"
    )
    confusion = metrics.get("confusion_matrix") or []
    errors = sum(count for i, row in enumerate(confusion) for j, count in enumerate(row) if i != j)
    augment_text = ", ".join(f"{k} {v}" for k, v in augment.items()) or "none"
    body = f"""
# LeNet-5 handwritten digit recognizer

LeNet-5 ([LeCun et al., 1998](https://yann.lecun.com/exdb/publis/pdf/lecun-01a.pdf)) trained on MNIST
with PyTorch: {model.num_parameters():,} parameters, **{metrics["test_accuracy"]:.2%}** top-1 accuracy on
the {metrics.get("test_images", 10000):,} MNIST test images. Weights are safetensors only. {space}

## Architecture

Variant `{model.variant}`. Input: a 28x28 grey image, ink in [0, 1], white ink on black; the model
normalises it (mean {model.mean}, std {model.std}) and pads it to the paper's 32x32 itself.

| layer | what | output (C x H x W) | parameters |
|---|---|---|---|
{table}
| | total | | {model.num_parameters():,} |

## Training

- Recipe `{metrics.get("recipe", "?")}`: {metrics.get("epochs", "?")} epochs, batch {recipe.get("batch_size", "?")},
  seed {metrics.get("seed", "?")}; {recipe.get("val_size", "?")} training images held out for validation.
- AdamW, lr {optim.get("lr", "?")}, linear warm-up over {optim.get("warmup", "?")} of the steps, then cosine
  down to {optim.get("final_lr", "?")} of it; weight decay {optim.get("weight_decay", "?")}, label smoothing
  {optim.get("label_smoothing", "?")}.
- Augmentation on whole batches: {augment_text}.
- A share of {recipe.get("pipeline_mix", 0)} of the training digits go through the preprocessing
  pipeline first, so the model learns what real inputs look like after it.
- Trained in {trained_on}.

## Results

MNIST test set: **{metrics["test_accuracy"]:.2%}** ({errors} errors), validation {metrics.get("val_accuracy", 0):.2%}.
{pipeline_line}
Per digit:

| {digits} |
|{"---|" * len(per_class)}
| {per_class_row} |

## Usage

The model class lives in the `lenet` package (in the Space's files and the project's repository;
`lenet/model.py` and `lenet/checkpoint.py`, which loads it, need only torch, safetensors and
huggingface_hub). Pin the revision you tested:

```python
from lenet import LeNet5, Predictor

model = LeNet5.from_pretrained("{repo_id}", revision="<commit sha>")  # safetensors, strict
predictor = Predictor(model)
prediction = predictor.predict("my-digit.jpg", k=3)  # a path, bytes, PIL image or numpy array
print(prediction.top)  # [('7', 0.97), ('1', 0.01), ('2', 0.004)]
```

## Preprocessing it expects

MNIST-style input: one digit, white ink on black, fitted into a 20x20 box keeping its aspect
ratio, anti-aliased, centred by centre of mass in 28x28. `Predictor` (and `lenet.pipeline.preprocess`) does
this for any picture: EXIF orientation, ink polarity, uneven lighting and colour casts, specks and
shadows, stroke width. A raw photo resized to 28x28 is not what this model was trained on.

## Limitations

- One digit per image, 0-9; letters, several digits or no digit give a confident-looking but
  meaningless answer unless the preprocessing finds no ink at all.
- Trained on MNIST (American census staff and students); other handwriting styles (the crossed 7,
  the continental 1) are covered only by augmentation.
- The real-world robustness figures of the project come from synthetic drawings and photos.
- Not for anything where a wrong digit costs money or safety.
"""
    return ModelCard(f"---\n{card_data(metrics).to_yaml()}\n---\n{body}")
