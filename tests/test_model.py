"""The LeNet-5 variants: shapes, parameter counts, gradients, strict safetensors save/load."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import load_file, save_file

from lenet.checkpoint import CheckpointError, load_model, save_checkpoint
from lenet.model import LeNet5, LeNetConfig


def paper_parameter_count(modern: bool) -> int:
    """Layer-by-layer count of LeNet-5 with C1 6, C3 16 (full table), C5 120, F6 84, 10 outputs."""
    c1, c3, c5, f6, out = 6, 16, 120, 84, 10
    if modern:  # convs without bias, each followed by batch norm (weight + bias)
        convs = (1 * 25 * c1 + 2 * c1) + (c1 * 25 * c3 + 2 * c3) + (c3 * 25 * c5 + 2 * c5)
        pools = 0
    else:
        convs = (1 * 25 * c1 + c1) + (c1 * 25 * c3 + c3) + (c3 * 25 * c5 + c5)
        pools = 2 * c1 + 2 * c3  # trainable coefficient + bias per subsampling map
    return convs + pools + (c5 * f6 + f6) + (f6 * out + out)


@pytest.mark.parametrize("variant", ["classic", "modern"])
@pytest.mark.parametrize("batch", [1, 7])
def test_output_shape(variant, batch):
    model = LeNet5(LeNetConfig(variant=variant)).eval()
    assert model(torch.rand(batch, 1, 28, 28)).shape == (batch, 10)


@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_parameter_count(variant):
    model = LeNet5(LeNetConfig(variant=variant))
    assert model.num_parameters() == paper_parameter_count(variant == "modern")
    assert model.num_parameters() <= 65_000


@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_every_parameter_gets_a_gradient(variant):
    model = LeNet5(LeNetConfig(variant=variant, dropout=0.1)).train()
    logits = model(torch.rand(8, 1, 28, 28))
    torch.nn.functional.cross_entropy(logits, torch.arange(8)).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown LeNet-5 variant 'lenet7'"):
        LeNet5(LeNetConfig(variant="lenet7"))


@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_save_load_round_trip_gives_identical_logits(tmp_path, variant):
    torch.manual_seed(1)
    model = LeNet5(LeNetConfig(variant=variant, dropout=0.2)).eval()
    # Move batch-norm statistics off their defaults so the round trip has to carry them.
    model.train()
    model(torch.rand(32, 1, 28, 28))
    model.eval()
    pixels = torch.rand(5, 1, 28, 28)
    save_checkpoint(model, tmp_path / "ckpt", {"note": "test"})
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "metrics.json", "model.safetensors"]
    for loaded in (load_model(tmp_path / "ckpt"), LeNet5.from_pretrained(tmp_path / "ckpt")):
        assert loaded.config == model.config
        assert torch.equal(loaded(pixels), model(pixels))


def test_mismatched_config_is_refused_with_the_file_named(tmp_path):
    save_checkpoint(LeNet5(LeNetConfig(variant="modern")), tmp_path / "ckpt", {})
    config_file = tmp_path / "ckpt" / "config.json"
    config = json.loads(config_file.read_text())
    config["channels"] = [8, 16, 120]
    config_file.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"model\.safetensors does not match its config\.json.*size mismatch"):
        load_model(tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="does not match"):
        LeNet5.from_pretrained(tmp_path / "ckpt")


def test_variant_swap_is_refused(tmp_path):
    save_checkpoint(LeNet5(LeNetConfig(variant="classic")), tmp_path / "ckpt", {})
    config_file = tmp_path / "ckpt" / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "variant": "modern"}))
    with pytest.raises(CheckpointError, match=r"Missing key|Unexpected key"):
        load_model(tmp_path / "ckpt")


def test_pickle_checkpoint_is_refused(tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    model = LeNet5()
    (folder / "config.json").write_text(json.dumps(model.config.to_dict()))
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    for load in (load_model, LeNet5.from_pretrained):
        with pytest.raises(CheckpointError, match=r"model\.safetensors not found"):
            load(folder)


def test_corrupt_weights_and_config_are_clear_errors(tmp_path):
    save_checkpoint(LeNet5(), tmp_path / "ckpt", {})
    weights = tmp_path / "ckpt" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"model\.safetensors is not a readable safetensors file"):
        load_model(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "config.json").write_text("{not json")
    for load in (load_model, LeNet5.from_pretrained):  # from_pretrained: a bare JSONDecodeError before
        with pytest.raises(CheckpointError, match=r"config\.json is not valid JSON"):
            load(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "config.json").write_text("[1, 2]")  # from_pretrained: an AttributeError before
    for load in (load_model, LeNet5.from_pretrained):
        with pytest.raises(CheckpointError, match=r"config\.json does not describe a LeNet5"):
            load(tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing")


def test_the_config_round_trips_through_json_and_refuses_what_it_does_not_know():
    for config in (
        LeNetConfig(variant="classic", channels=(8, 16, 120), dropout=0.1),
        LeNetConfig(num_classes=11, channels=(16, 32, 128), line_hidden=64),
    ):
        assert LeNetConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown key"):
        LeNetConfig.from_dict({**config.to_dict(), "layers": 7})
    for bad in (
        {"channels": [6, 16]},
        {"hidden": 0},
        {"dropout": 1.0},
        {"num_classes": 2.5},
        {"line_hidden": -1},
        {"line_hidden": True},
        {"variant": "classic", "line_hidden": 32},
        {"mean": "x"},
        {"std": None},
        {"mean": float("inf")},
    ):
        with pytest.raises(ValueError):
            LeNetConfig.from_dict(bad)


def test_weights_that_are_not_finite_floats_are_refused(tmp_path):
    """A safetensors file of the right shapes but int32 weights (every answer 10%) or NaN ones
    ("nan%") loads into nothing: a CheckpointError naming the tensor."""
    model = LeNet5()
    for name, change, says in (
        ("ints", lambda t: t.to(torch.int32), "holds torch.int32 numbers"),
        ("nan", lambda t: t.fill_(float("nan")), "NaN or infinite"),
    ):
        folder = tmp_path / name
        save_checkpoint(model, folder, {})
        state = load_file(str(folder / "model.safetensors"))
        first = next(key for key, tensor in state.items() if tensor.is_floating_point())
        state[first] = change(state[first].clone())
        save_file(state, str(folder / "model.safetensors"))
        with pytest.raises(CheckpointError, match=re.escape(first) + ".*" + re.escape(says)):
            load_model(folder)
    half = tmp_path / "half"  # float16 weights are floats: loaded (as float32)
    save_checkpoint(model, half, {})
    save_file(
        {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(half / "model.safetensors")).items()},
        str(half / "model.safetensors"),
    )
    assert load_model(half).features[0].weight.dtype == torch.float32


@torch.no_grad()
def test_a_line_reader_gives_a_column_every_4_pixels_whatever_the_width():
    """The convolutions run along the line (one C5 column every 4 px, 16 px of paper each side) and
    the GRU reads every column: its answer for a column depends on what lies far to either side."""
    model = LeNet5(LeNetConfig(num_classes=11, line_hidden=32)).eval()
    for width in (28, 30, 61, 300):
        assert model(torch.rand(2, 1, 28, width)).shape == (2, width // 4 + 1, 11)
    lines = torch.rand(2, 1, 28, 64)
    changed = lines.clone()
    changed[:, :, :, -8:] = 0  # the far right only, beyond what the first column's convolutions see
    assert not torch.allclose(model(changed)[:, 0], model(lines)[:, 0])  # the GRU tells the first column
    assert not hasattr(model, "classifier")


def test_save_pretrained_writes_the_files_a_checkpoint_holds(tmp_path):
    """One writer of the format: the mixin's save_pretrained and save_checkpoint give the same bytes."""
    model = LeNet5(LeNetConfig(dropout=0.1))
    save_checkpoint(model, tmp_path / "ckpt", {})
    model.save_pretrained(tmp_path / "pretrained")
    for name in ("model.safetensors", "config.json"):
        assert (tmp_path / "pretrained" / name).read_bytes() == (tmp_path / "ckpt" / name).read_bytes(), name
