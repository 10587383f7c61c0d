"""imgflow/training/plan.py: what params leave open, decided for the data, each with a reason."""

from __future__ import annotations

from imgflow.params.train import TrainParams
from imgflow.training.plan import plan_training


def preset(**given: object) -> TrainParams:
    """Params as params.yaml gives them: epochs, min_steps and augmentation from the preset."""
    return TrainParams.model_validate({"model": "cnn_basic", **given})


def test_small_data_gets_epochs_raised_to_min_steps() -> None:
    plan = plan_training(preset(), n_train=196, input_side=64)
    # 196 images in batches of 64: 4 steps per epoch; 50 epochs make the 200 steps.
    assert plan.params.epochs == 50
    assert plan.chosen["epochs"].startswith("50 (not 8): 196 training images make 4 steps")


def test_data_that_already_makes_min_steps_keeps_the_presets_epochs() -> None:
    plan = plan_training(preset(), n_train=50_000, input_side=32)
    assert plan.params.epochs == 8 and "epochs" not in plan.chosen


def test_epochs_the_user_set_are_never_raised() -> None:
    params = preset(epochs=3)
    assert params.min_steps == 0
    assert plan_training(params, n_train=100, input_side=32).params.epochs == 3


def test_min_steps_set_beside_epochs_raises_them() -> None:
    params = preset(epochs=3, min_steps=40)
    assert plan_training(params, n_train=64, input_side=32).params.epochs == 40


def test_fine_tuning_and_warm_up_stretch_with_the_run() -> None:
    params = preset(model="transfer", min_steps=100)  # 5 frozen + 5 fine-tuning epochs
    plan = plan_training(params, n_train=64, input_side=32)  # 1 step per epoch
    assert (plan.params.epochs, plan.params.fine_tune.epochs) == (50, 50)
    fast = plan_training(preset(model="fast", min_steps=300), n_train=256, input_side=32)
    assert fast.params.epochs == 300 and fast.params.schedule.warmup_epochs == 60  # a fifth


def test_auto_patience_is_a_quarter_of_the_epochs_for_a_constant_rate() -> None:
    plan = plan_training(preset(), n_train=196, input_side=64)
    assert plan.params.early_stopping.patience == 12
    assert plan_training(preset(epochs=4), 1000, 32).params.early_stopping.patience == 3


def test_auto_patience_leaves_a_planned_schedule_to_run_to_its_end() -> None:
    plan = plan_training(preset(schedule={"name": "cosine"}), n_train=196, input_side=64)
    assert plan.params.early_stopping.patience == 0
    assert "cosine schedule is planned" in plan.chosen["early_stopping.patience"]


def test_auto_patience_gives_reduce_on_plateau_room_for_two_cuts() -> None:
    params = preset(epochs=8, schedule={"name": "reduce_on_plateau", "patience": 4})
    assert plan_training(params, 1000, 32).params.early_stopping.patience == 9


def test_patience_the_user_set_is_kept() -> None:
    params = preset(early_stopping={"patience": 0})
    plan = plan_training(params, n_train=196, input_side=64)
    assert plan.params.early_stopping.patience == 0
    assert "early_stopping.patience" not in plan.chosen


def test_auto_flip_follows_what_the_source_says_of_mirroring() -> None:
    flips = {
        safe: plan_training(preset(), 1000, 32, mirror_safe=safe).params.augmentation.flip
        for safe in (True, False, None)
    }
    assert flips == {True: True, False: False, None: True}


def test_auto_translate_is_a_sixteenth_of_the_side() -> None:
    assert plan_training(preset(), 1000, 64).params.augmentation.translate == 4
    assert plan_training(preset(), 1000, 32).params.augmentation.translate == 2
    assert plan_training(preset(), 1000, 8).params.augmentation.translate == 1


def test_explicit_augmentation_wins() -> None:
    params = preset(augmentation={"flip": True, "translate": 0})
    plan = plan_training(params, 1000, 32, mirror_safe=False)
    assert plan.params.augmentation.flip is True and plan.params.augmentation.translate == 0
    assert not any(key.startswith("augmentation") for key in plan.chosen)


def test_planning_a_plan_changes_nothing() -> None:
    once = plan_training(preset(), n_train=196, input_side=64)
    twice = plan_training(once.params, n_train=196, input_side=64)
    assert twice.params == once.params and twice.chosen == {}
