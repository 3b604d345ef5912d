"""The judges (zoo.metrics.judges): another architecture than the feature networks, loaded marked as judges, and
refused by anything that would train against them."""

import keras
import numpy as np
import pytest

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.metrics import judges
from zoo.models.classifier import DigitClassifier, digit_classifier, digit_judge, face_judge


def saved(model, path, family):
    return save_checkpoint(model, path, metadata={"name": "x", "description": "x", "family": family, "metrics": []})


def test_a_judge_is_another_architecture_that_trains_and_serializes():
    keras.utils.set_random_seed(0)
    judge, network = digit_judge(), digit_classifier()
    kinds = {type(layer).__name__ for layer in judge.body.layers}
    assert {"BatchNormalization", "Add", "GlobalAveragePooling2D"} <= kinds
    assert not {"BatchNormalization", "Add"} & {type(layer).__name__ for layer in network.body.layers}
    x = np.random.default_rng(0).uniform(size=(16, 28, 28, 1)).astype("float32")
    y = np.arange(16) % 10
    judge.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = judge.fit(x, y, epochs=4, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    rebuilt = DigitClassifier.from_config(judge.get_config())
    rebuilt.set_weights(judge.get_weights())
    np.testing.assert_allclose(rebuilt.features(x), judge.features(x), rtol=1e-5, atol=1e-5)
    assert judge.features(x).shape == (16, 128) and judge.predict_labels(x).shape == (16,)
    faces = face_judge()
    assert faces.features(np.zeros((2, 64, 64, 1), "float32")).shape == (2, 128) and faces.n_classes == 40
    with pytest.raises(ValueError, match="architecture must be one of"):
        DigitClassifier(architecture="mlp")


def test_a_loaded_judge_and_its_parts_are_refused_by_training(tmp_path):
    judge = zoo.load(saved(digit_judge(), tmp_path / "judge", "judge"), compile=False)
    assert judges.is_judge(judge)
    for part in (judge, judge.body, judge.body.get_layer("features")):
        with pytest.raises(InputError, match="judge, which only scores results; it cannot be used in the loss"):
            judges.check_not_judge(part, "the loss")
    network = zoo.load(saved(digit_classifier(), tmp_path / "network", "classifier"), compile=False)
    assert judges.check_not_judge(network) is network and not judges.is_judge(network.body)
    wrapped = keras.Sequential([keras.Input((28, 28, 1)), judge.body])  # a judge inside another model
    with pytest.raises(InputError, match="judge"):
        judges.check_not_judge(wrapped)


def test_each_dataset_names_its_judge():
    assert judges.judge_name("mnist") == "mnist_judge"
    assert set(judges.JUDGES.values()) <= set(zoo.list_models())
    with pytest.raises(InputError, match="no judge for dataset 'cifar10'"):
        judges.judge_name("cifar10")
