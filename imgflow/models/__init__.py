"""Keras model presets, their building blocks and augmentation layers, and the model file."""
