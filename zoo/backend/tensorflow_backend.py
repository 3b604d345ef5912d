"""TensorFlow: gradients with `tf.GradientTape`; Keras' own trainer calls steps as-is."""

import tensorflow as tf

from zoo.backend.common import split_loss


def value_and_grad(fn, variables):
    variables = list(variables)

    def wrapped(*args, **kwargs):
        with tf.GradientTape() as tape:
            loss, aux = split_loss(fn(*args, **kwargs))
        grads = tape.gradient(loss, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
        return (loss, aux), grads

    return wrapped


def input_gradient(fn, x):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:  # nested in the caller's tape: differentiable
        tape.watch(x)
        total = tf.reduce_sum(fn(x))
    return tape.gradient(total, x)


def portable_step(step):
    # Keras' trainer on this backend already calls `step(self, data)`.
    step._zoo_portable = True
    return step
