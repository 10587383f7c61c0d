import numpy as np

from imgflow.training.batches import batches

IMAGES = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * 10


def epoch(dataset) -> list[np.ndarray]:
    return [np.asarray(batch) for batch in dataset]


def test_without_a_seed_batches_keep_the_order_and_the_last_partial_batch() -> None:
    got = epoch(batches(IMAGES, 4))
    assert [len(batch) for batch in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(got), IMAGES)


def test_targets_stay_with_their_images_when_shuffled() -> None:
    targets = np.arange(10, dtype=np.float32) * 10
    for images, batch_targets in batches(IMAGES, 3, targets, shuffle_seed=0):
        np.testing.assert_array_equal(np.asarray(images).ravel(), np.asarray(batch_targets))


def test_each_epoch_is_a_new_permutation() -> None:
    dataset = batches(IMAGES, 4, shuffle_seed=1)
    first, second = np.concatenate(epoch(dataset)), np.concatenate(epoch(dataset))
    assert sorted(first.ravel()) == sorted(IMAGES.ravel()) == sorted(second.ravel())
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, IMAGES)


def test_the_same_seed_gives_the_same_orders() -> None:
    one, two = batches(IMAGES, 4, shuffle_seed=7), batches(IMAGES, 4, shuffle_seed=7)
    for _ in range(2):
        np.testing.assert_array_equal(np.concatenate(epoch(one)), np.concatenate(epoch(two)))


def test_autotuning_is_off_so_dropping_an_epochs_iterator_does_not_wait_for_its_thread() -> None:
    assert batches(IMAGES, 4, shuffle_seed=1).options().autotune.enabled is False
