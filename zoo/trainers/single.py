"""Models trained on one objective with one optimizer: autoencoders, VAEs."""

import keras

from zoo.backend import value_and_grad
from zoo.trainers.base import ZooModel


class SingleLossModel(ZooModel):
    """One objective, one optimizer.

    Subclasses implement `compute_terms(x, y, training)` returning a dict of
    scalar loss terms whose `"loss"` entry is minimised; every entry named in
    `tracked` is logged.
    """

    def compute_terms(self, x, y=None, training=False):
        raise NotImplementedError(f"{type(self).__name__} must implement compute_terms")

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = keras.ops.convert_to_tensor(x)  # torch's train_on_batch hands over numpy arrays

        def objective():
            terms = self.compute_terms(x, y, training=True)
            return terms["loss"], terms

        (_, terms), grads = value_and_grad(objective, self.trainable_variables)()
        self.optimizer.apply(grads, self.trainable_variables)
        return self.update_trackers(terms)

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.update_trackers(self.compute_terms(keras.ops.convert_to_tensor(x), y, training=False))
