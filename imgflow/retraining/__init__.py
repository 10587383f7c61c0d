"""Keeping a model fresh: fingerprint the inputs, train a challenger apart, gate, promote; and
comparing two runs (`imgflow compare`)."""
