"""Prefect flows and the `imgflow` command line that run the DVC stages."""
