"""Scoring a model on the test split: metrics, error analysis, the summary and the figures."""
