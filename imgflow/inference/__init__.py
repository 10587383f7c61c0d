"""Using a trained model outside the pipeline: prepare image files exactly as training did,
rank the classes, format the answers, export to TensorFlow SavedModel and TFLite."""
