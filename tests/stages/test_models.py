import numpy as np
import pytest

from stages.models import BN_MOMENTUM, PRESETS, build_model


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_maps_images_to_class_probabilities(preset: str) -> None:
    model = build_model(preset, (16, 16, 3), n_classes=4)
    probabilities = model.predict(np.zeros((2, 16, 16, 3), dtype=np.uint8), verbose=0)
    assert probabilities.shape == (2, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_normalises_pixels_inside_the_model(preset: str) -> None:
    model = build_model(preset, (16, 16, 1), n_classes=3)
    rescale = model.get_layer("normalise")
    assert rescale.scale == pytest.approx(1 / 255)
    assert model.layers.index(rescale) == 1  # first layer after the input


def test_cnn_basic_batch_norm_tracks_statistics_quickly() -> None:
    model = build_model("cnn_basic", (16, 16, 3), n_classes=2)
    momenta = {layer.momentum for layer in model.layers if "batch_normalization" in layer.name}
    assert momenta == {BN_MOMENTUM}


def test_unknown_preset_names_the_key() -> None:
    with pytest.raises(KeyError, match="train.model"):
        build_model("resnet999", (8, 8, 3), n_classes=2)
