"""The classification terms the zoo's classifiers and self-supervised pretext networks train on."""

import keras
from keras import ops


def classification_terms(logits, labels):
    """`{"loss": mean sparse cross-entropy, "accuracy": ...}` of class `logits` (n, k) against integer `labels`
    (any shape holding n), both in float32 whatever the compute dtype."""
    logits = ops.cast(logits, "float32")
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    loss = ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
    accuracy = ops.mean(ops.cast(ops.equal(ops.argmax(logits, axis=-1), labels), "float32"))
    return {"loss": loss, "accuracy": accuracy}
