"""Fitting a model: the loop, callbacks, learning-rate schedules, tf.data batches, records."""
