"""Training: MNIST as tensors (data), batch augmentation (augment), TOML recipes (recipe), the
resumable loop and evaluation (train), and the pictures of a run (report)."""
