"""Models trained on one objective with one optimizer: autoencoders, VAEs."""

import keras

from zoo.trainers.base import ZooModel
from zoo.trainers.precision import apply_gradients, scaled_value_and_grad


class SingleLossModel(ZooModel):
    """One objective, one optimizer.

    Subclasses implement `compute_terms(x, y, training)` returning a dict of
    scalar loss terms whose `"loss"` entry is minimised; every entry named in
    `tracked` is logged.

    Under the `mixed_float16` policy Keras' `compile` wraps the optimizer in a
    `LossScaleOptimizer`; the step differentiates the loss it scales and logs
    the unscaled one.
    """

    def compute_terms(self, x, y=None, training=False):
        raise NotImplementedError(f"{type(self).__name__} must implement compute_terms")

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = keras.ops.convert_to_tensor(x)  # torch's train_on_batch hands over numpy arrays

        def objective():
            terms = self.compute_terms(x, y, training=True)
            return terms["loss"], terms

        (_, terms), grads = scaled_value_and_grad(self.optimizer, objective, self.trainable_variables)()
        apply_gradients(self.optimizer, grads, self.trainable_variables)
        return self.update_trackers(terms)

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.update_trackers(self.compute_terms(keras.ops.convert_to_tensor(x), y, training=False))
