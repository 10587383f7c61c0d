"""The pipeline's stage names, in the order they run: dvc.yaml declares the same (a test checks)."""

STAGES = ("download", "validate", "resize", "split", "train", "evaluate", "plot")
