"""Command line: `python -m lenet train | evaluate | predict | push | deploy-space | export-onnx | build-web |
deploy-static`, each flag with a default and help."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import traceback
from pathlib import Path

import torch

from lenet.checkpoint import STATE_DIR, CheckpointError, read_metrics
from lenet.pipeline.decode import display_name
from lenet.pipeline.preprocess import ImageError, NoDigitError
from lenet.predict import DEFAULT_CHECKPOINT, Predictor
from lenet.training.data import DATA_DIR_ENV, DataError, load_mnist, through_pipeline
from lenet.training.recipe import Recipe, RecipeError

DEFAULT_RECIPE = "train/lenet5.toml"


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def threads_count(text: str) -> int:
    """--threads: 0 (one per core) or a positive count."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per core) or more, got {value}")
    return value


def repo_id(text: str) -> str:
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        raise argparse.ArgumentTypeError(f"expected USER/NAME, got {text!r}")
    return text


def commit_sha(text: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{40}", text):
        raise argparse.ArgumentTypeError(f"expected a full 40-character commit sha to pin, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lenet", description="LeNet-5 on MNIST: train, evaluate, predict.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = f"MNIST root holding MNIST/raw (default: ${DATA_DIR_ENV}, else data/; downloaded there if missing)"

    train = commands.add_parser("train", help="train a model from a recipe and write its checkpoint folder")
    train.add_argument("--recipe", default=DEFAULT_RECIPE, help=f"TOML recipe (default: {DEFAULT_RECIPE})")
    train.add_argument("--out", default=None, help="checkpoint folder to write (default: the recipe's `out`)")
    train.add_argument("--data-dir", default=None, help=data_help)
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last completed epoch in --out (default: off, start afresh)",
    )
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="one epoch of two batches on a small validation/test slice, to check the wiring; "
        "writes only where --out says (default: a temporary folder, then removed)",
    )
    train.add_argument(
        "--extra-data",
        default=None,
        metavar="DIR_OR_REPO",
        help="corrections to mix in: a folder the app saved, or a Hub dataset repo id (default: none)",
    )
    train.add_argument(
        "--extra-weight",
        type=float,
        default=0.01,
        help="share of each epoch's images taken by the corrections, repeated (default: 0.01)",
    )
    train.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:1 ... (default: auto)")
    train.add_argument(
        "--threads", type=threads_count, default=0, help="CPU threads for torch (default: 0 = one per core)"
    )

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix on the test set")
    evaluate.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    evaluate.add_argument("--data-dir", default=None, help=data_help)
    evaluate.add_argument(
        "--json", action="store_true", help="print the metrics as one JSON object (default: off, a table)"
    )
    evaluate.add_argument(
        "--report",
        default=None,
        metavar="DIR",
        help="also write confusion/misclassified/curve PNGs to DIR (default: none)",
    )
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda ... (default: auto)")
    evaluate.add_argument(
        "--data",
        default=None,
        metavar="DIR_OR_REPO",
        help="also report accuracy on corrections: a folder the app saved, or a Hub dataset repo id (default: none)",
    )
    evaluate.add_argument(
        "--through-pipeline",
        action="store_true",
        help="render each test digit through the preprocessing pipeline first, as the app would (default: off)",
    )

    predict = commands.add_parser("predict", help="top-k digits for image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, WebP, GIF, BMP, TIFF ...)")
    predict.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    predict.add_argument("--top", type=positive_int, default=3, help="how many labels to show (default: 3)")
    predict.add_argument(
        "--json", action="store_true", help="one JSON object per line and file (default: off, a line of text)"
    )
    predict.add_argument(
        "--number",
        action="store_true",
        help="read a whole number (1-10 digits, left to right), not one digit (default: off)",
    )

    token_note = "The token comes from HF_TOKEN or `hf auth login`."
    push = commands.add_parser("push", help="push a checkpoint and its model card to a Hub model repo")
    push.description = (
        f"Push model.safetensors, config.json, metrics.json and a generated model card in one commit. {token_note}"
    )
    push.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    push.add_argument("--repo-id", type=repo_id, required=True, help="model repo USER/NAME (required; created if new)")
    push.add_argument("--private", action="store_true", help="create the repo private (default: public)")
    push.add_argument("--space-id", type=repo_id, default=None, help="Space the card links to (default: --repo-id)")
    push.add_argument(
        "--dry-run",
        action="store_true",
        help="write the folder it would upload to --out; upload nothing (default: off)",
    )
    push.add_argument("--out", default="dist/model-repo", help="folder for --dry-run (default: dist/model-repo)")

    deploy = commands.add_parser("deploy-space", help="deploy the Gradio app as a Space serving a pinned model")
    deploy.description = f"Upload the app, the package and the model pin to a Space in one commit. {token_note}"
    deploy.add_argument("--space-id", type=repo_id, required=True, help="Space USER/NAME (required; created if new)")
    deploy.add_argument("--model-repo", type=repo_id, required=True, help="model repo USER/NAME to serve (required)")
    deploy.add_argument(
        "--revision", type=commit_sha, required=True, help="model commit sha to pin, as push printed (required)"
    )
    deploy.add_argument("--private", action="store_true", help="create the Space private (default: public)")
    deploy.add_argument(
        "--dry-run", action="store_true", help="write the Space's files to --out; upload nothing (default: off)"
    )
    deploy.add_argument("--out", default="dist/space", help="folder for --dry-run (default: dist/space)")

    export = commands.add_parser("export-onnx", help="the model and the pipeline's fixed-shape tail as one ONNX file")
    export.description = "Export with torch.onnx's dynamo exporter (needs the onnx and onnxscript packages)."
    export.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    export.add_argument("--out", default="dist/lenet5.onnx", help="ONNX file to write (default: dist/lenet5.onnx)")

    web = commands.add_parser("build-web", help="the browser edition: a static site that reads digits in the page")
    web.description = "Build the static site from web/ (onnxruntime-web from web/package-lock.json, via npm ci)."
    web.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    web.add_argument("--out", default="dist/site", help="site folder to write (default: dist/site)")
    web.add_argument("--app-url", default=None, help="the Gradio app's URL, linked for photos (default: no link)")

    static = commands.add_parser("deploy-static", help="deploy the browser edition as a static Space (free hosting)")
    static.description = f"Build the static site and upload it to a static Space in one commit. {token_note}"
    static.add_argument("--space-id", type=repo_id, required=True, help="Space USER/NAME (required; created if new)")
    static.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    static.add_argument(
        "--model-repo",
        type=repo_id,
        default=None,
        help="model repo USER/NAME to build from, with --revision (default: none)",
    )
    static.add_argument(
        "--revision",
        type=commit_sha,
        default=None,
        help="model commit sha to pin: the site is built from --model-repo at it, not --checkpoint (default: none)",
    )
    static.add_argument("--app-url", default=None, help="the Gradio app's URL, linked for photos (default: no link)")
    static.add_argument("--private", action="store_true", help="create the Space private (default: public)")
    static.add_argument(
        "--dry-run", action="store_true", help="write the Space's files to --out; upload nothing (default: off)"
    )
    static.add_argument("--out", default="dist/static-space", help="folder for --dry-run (default: dist/static-space)")
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from lenet.training.train import ExtraData, train

    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = Recipe.from_toml(args.recipe)
    extra = None
    if not 0 < args.extra_weight < 1:  # checked with or without --extra-data: a typo is said, not ignored
        raise RecipeError(f"--extra-weight must be between 0 and 1 (exclusive), got {args.extra_weight}")
    if args.extra_data:
        found = _corrections(args.extra_data)
        extra = ExtraData(args.extra_data, found.images, found.labels, args.extra_weight)
    if args.dry_run and args.resume:
        raise RecipeError("--dry-run does not resume: it would replace the unfinished run's training state")
    # Nothing trained is lost to a slip: a dry run into a finished checkpoint, or a run started over
    # on an unfinished one (train() refuses a dry run onto an unfinished one).
    target = Path(args.out or recipe.out)
    unfinished = (target / STATE_DIR).is_dir()
    if args.dry_run and args.out is not None and not unfinished and (target / "model.safetensors").is_file():
        raise RecipeError(
            f"{target} holds a trained checkpoint, which a dry run would replace with an untrained one: "
            "give a new --out, or none (a temporary folder)"
        )
    if unfinished and not args.resume and not args.dry_run:
        raise RecipeError(
            f"{target} holds an unfinished run (its {STATE_DIR}): --resume to go on with it, or give "
            "another --out (starting over would discard it)"
        )
    options = {"data_dir": args.data_dir, "device": args.device, "extra": extra}
    if args.dry_run and args.out is None:
        with tempfile.TemporaryDirectory(prefix="lenet-dry-run-") as scratch:
            train(recipe, out=Path(scratch) / recipe.name, dry_run=True, **options)
            print("dry run: checkpoint written to a temporary folder and removed")
        return 0
    train(recipe, out=args.out, resume=args.resume, dry_run=args.dry_run, **options)
    return 0


def _corrections(source: str):
    """The corrections in a folder or a Hub dataset repo (lenet.corrections.CorrectionSet)."""
    from lenet.corrections import load_corrections
    from lenet.hub.corrections import corrections_folder

    return load_corrections(corrections_folder(source), name=source)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from lenet.checkpoint import load_digit_model
    from lenet.training.report import write_report
    from lenet.training.train import evaluate, pick_device

    if args.report and Path(args.report).exists() and not Path(args.report).is_dir():
        raise CheckpointError(f"--report {args.report} is a file: it needs a folder for the report's images")

    device = pick_device(args.device)
    model = load_digit_model(args.checkpoint).to(device)
    images, labels = load_mnist(args.data_dir, train=False)
    if args.through_pipeline:
        images = through_pipeline(images, "mnist-test")  # cached: the same renderings training reports on
    result = evaluate(model, images, labels, device)
    summary = {
        "checkpoint": str(args.checkpoint),
        "through_pipeline": args.through_pipeline,
        "test_images": len(images),
        "accuracy": result["accuracy"],
        "errors": int((result["predictions"] != labels).sum()),
        "per_class_accuracy": result["per_class_accuracy"],
        "confusion_matrix": result["confusion_matrix"],
    }
    if args.data:
        found = _corrections(args.data)
        on_them = evaluate(model, found.images, found.labels, device)
        summary["corrections"] = {
            "source": args.data,
            "images": len(found.images),
            "skipped": found.skipped,
            "accuracy": on_them["accuracy"],
            "errors": int((on_them["predictions"] != found.labels).sum()),
        }
    if args.report:
        history = (read_metrics(args.checkpoint) or {}).get("history")
        summary["report"] = [str(p) for p in write_report(args.report, result, images, labels, history)]
    if args.json:
        print(json.dumps(summary))
        return 0
    rendered = " rendered through the preprocessing pipeline" if args.through_pipeline else ""
    images_seen = f"{len(images):,} test images{rendered}"
    print(f"{args.checkpoint}: {summary['accuracy']:.2%} on {images_seen} ({summary['errors']} errors)")
    if args.data:
        extra = summary["corrections"]
        skipped = f", {extra['skipped']} unreadable skipped" if extra["skipped"] else ""
        print(
            f"{args.checkpoint}: {extra['accuracy']:.2%} on {extra['images']:,} corrections from {args.data}{skipped}"
        )
    print("digit  accuracy")
    for digit, (accuracy, row) in enumerate(
        zip(summary["per_class_accuracy"], summary["confusion_matrix"], strict=True)
    ):
        # A class without test images (the piece reader's "not one digit") has no accuracy to show.
        print(f"{digit:>5}  {accuracy:.2%}" if sum(row) else f"{digit:>5}  - (no test images)")
    print("confusion matrix (rows: true digit, columns: predicted)")
    for digit, row in enumerate(summary["confusion_matrix"]):
        print(f"{digit:>3} " + " ".join(f"{count:>5}" for count in row))
    for path in summary.get("report", []):
        print(f"wrote {path}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    predictor = Predictor.from_checkpoint(args.checkpoint)
    failures = 0
    for file in args.images:
        try:
            prediction = predictor.read_number(file, k=args.top) if args.number else predictor.predict(file, k=args.top)
        except (ImageError, NoDigitError) as err:
            failures += 1
            message = str(err).removeprefix(f"{display_name(file)}: ")  # the line names the file already
            print(json.dumps({"file": file, "error": message}) if args.json else f"{file}: error: {message}")
            continue
        except Exception as err:  # a bug, not the file's fault: its traceback on stderr, and on to the next file
            failures += 1
            traceback.print_exc()
            message = f"unexpected error ({type(err).__name__}), please report it"
            print(json.dumps({"file": file, "error": message}) if args.json else f"{file}: error: {message}")
            continue
        if args.number:
            reading = prediction.as_dict()
            line = f"{file}: {reading['number']} ({reading['confidence']:.0%})"
            print(json.dumps({"file": file, **reading}) if args.json else line)
        elif args.json:
            print(json.dumps({"file": file, **prediction.as_json()}))
        else:
            print(f"{file}: " + ", ".join(f"{label} ({p:.1%})" for label, p in prediction.top))
    return 1 if failures else 0


def cmd_push(args: argparse.Namespace) -> int:
    from lenet.hub import push

    space_id = args.space_id or args.repo_id
    sha = push(args.checkpoint, args.repo_id, args.private, space_id, out=args.out if args.dry_run else None)
    if sha is None:
        print(f"dry run: wrote to {args.out} what `push` would upload to {args.repo_id}; uploaded nothing")
        return 0
    print(f"pushed {args.checkpoint} to {args.repo_id}")
    print(f"commit {sha}")
    print(f"serve it pinned:  LENET_REPO_ID={args.repo_id} LENET_REVISION={sha} python app.py")
    print(f"deploy the Space: python -m lenet deploy-space --space-id {space_id} --model-repo {args.repo_id}", end=" ")
    print(f"--revision {sha}")
    return 0


def cmd_deploy_space(args: argparse.Namespace) -> int:
    from lenet.hub import deploy_space

    out = args.out if args.dry_run else None
    sha = deploy_space(args.space_id, args.model_repo, args.revision, args.private, out=out)
    return _deployed(args, "deploy-space", sha, f"Space {args.space_id}, serving {args.model_repo} at {args.revision}")


def _deployed(args: argparse.Namespace, command: str, sha: str | None, what: str) -> int:
    """What a deploy command prints: the dry run's folder, or the Space, its commit and its URL."""
    from huggingface_hub import constants

    if sha is None:
        print(f"dry run: wrote to {args.out} the files `{command}` would upload to {args.space_id}; uploaded nothing")
        return 0
    print(f"deployed {what}")
    print(f"commit {sha}")
    print(f"{constants.ENDPOINT.rstrip('/')}/spaces/{args.space_id}")
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from lenet.checkpoint import load_digit_model
    from lenet.export import OPSET, export_onnx

    path = export_onnx(load_digit_model(args.checkpoint), args.out)
    print(f"wrote {path} ({path.stat().st_size:,} bytes, opset {OPSET}, torch.onnx dynamo exporter)")
    return 0


def cmd_build_web(args: argparse.Namespace) -> int:
    from lenet.web import build_site

    sizes = build_site(args.checkpoint, args.out, app_url=args.app_url)
    print(f"wrote {len(sizes)} files, {sum(sizes.values()) / 1e6:.1f} MB, to {args.out}")
    print(f"try it: python -m http.server --directory {args.out} 8000, then open http://127.0.0.1:8000/")
    return 0


def cmd_deploy_static(args: argparse.Namespace) -> int:
    from lenet.hub import deploy_static

    out = args.out if args.dry_run else None
    sha = deploy_static(
        args.space_id, args.checkpoint, args.model_repo, args.revision, args.app_url, args.private, out=out
    )
    return _deployed(args, "deploy-static", sha, f"static Space {args.space_id}")


def main(argv: list[str] | None = None) -> int:
    from lenet.corrections import CorrectionsError
    from lenet.export import ExportError
    from lenet.hub import HubError
    from lenet.web import WebError

    args = build_parser().parse_args(argv)
    handlers = {
        "train": cmd_train,
        "evaluate": cmd_evaluate,
        "predict": cmd_predict,
        "push": cmd_push,
        "deploy-space": cmd_deploy_space,
        "export-onnx": cmd_export_onnx,
        "build-web": cmd_build_web,
        "deploy-static": cmd_deploy_static,
    }
    try:
        return handlers[args.command](args)
    except (CheckpointError, DataError, RecipeError, HubError, ExportError, WebError, CorrectionsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m lenet evaluate | head`: the reader left, not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
