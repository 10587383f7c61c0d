"""imgflow: a reproducible image-classification pipeline's library, one sub-package per concern.

The DVC stages in `stages/` and the Prefect flows in `pipelines/` call into it; it imports
neither.
"""
