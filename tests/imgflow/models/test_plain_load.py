"""A model saved by train loads with plain Keras in a process that never imported imgflow.

Keras 3 imports the module a saved class names only for Keras' own packages, so before
imgflow/models/portable.py a `fast` model failed there with "Could not locate class 'OneCycle'"
(its optimizer's schedule), then its custom layers.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from imgflow.models.saving import save_model
from imgflow.params.train import TrainParams
from imgflow.training.loop import fit
from tests.imgflow.training.helpers import toy_split

# Each preset with what makes it hard to load: custom layers, initializer and schedule (fast),
# augmentation (all three), a nested backbone (transfer).
PRESETS = {
    "fast": {"fast": {"widths": [8, 8, 8]}},  # one_cycle, SGD, bfloat16 where the CPU has it
    "cnn_leaky": {},  # flip and translate by default
    "transfer": {
        "transfer": {"weights": None, "alpha": 0.35, "input_size": 32},
        "augmentation": {"flip": True, "translate": 1},
    },
}

# Run in a fresh interpreter outside the project, so nothing can import imgflow on the way.
LOADER = """
import json, sys
imported_before = any(name.split(".")[0] == "imgflow" for name in sys.modules)
import keras
import numpy as np
images = np.load(sys.argv[1])
result = {"imported_before": imported_before, "predictions": {}}
for path in sys.argv[2:]:
    model = keras.saving.load_model(path)
    result["predictions"][path] = model.predict(images, verbose=0).tolist()
result["imported_after"] = any(name.split(".")[0] == "imgflow" for name in sys.modules)
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Train each preset one epoch, save it as train does, load all of them in one child."""
    folder = tmp_path_factory.mktemp("plain_load")
    images = toy_split(8, 2)[0]
    np.save(folder / "images.npy", images)
    expected = {}
    for preset, extra in PRESETS.items():
        params = TrainParams(model=preset, epochs=1, batch_size=16, **extra)
        model = fit(toy_split(32, 0), toy_split(16, 1), 2, params).model
        save_model(model, folder / f"{preset}.keras")
        expected[preset] = model.predict(images, verbose=0)
    paths = [str(folder / f"{preset}.keras") for preset in PRESETS]
    child = subprocess.run(
        [sys.executable, "-c", LOADER, str(folder / "images.npy"), *paths],
        cwd=folder,  # not the project root: `import imgflow` must not find it
        capture_output=True,
        text=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["expected"] = expected
    result["paths"] = dict(zip(PRESETS, paths, strict=True))
    return result


def test_the_child_had_not_imported_imgflow_when_it_loaded(loaded: dict) -> None:
    assert loaded["imported_before"] is False and loaded["imported_after"] is False


@pytest.mark.parametrize("preset", list(PRESETS))
def test_plain_keras_loads_the_model_and_predicts_as_the_trained_one(
    loaded: dict, preset: str
) -> None:
    predictions = np.asarray(loaded["predictions"][loaded["paths"][preset]])
    np.testing.assert_allclose(predictions, loaded["expected"][preset], rtol=0, atol=1e-5)
