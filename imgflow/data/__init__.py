"""The raw image store, its layout, decoding, resizing, splitting and dataset statistics."""
