"""What a learned code is good for, measured: linear probe, clustering, retrieval.

- `linear_probe`: multinomial logistic regression on frozen codes (the
  representation-learning protocol of e.g. Oord et al. 2018, CPC).
- `kmeans`: Lloyd's algorithm with k-means++ seeding (Arthur & Vassilvitskii,
  SODA 2007), in Keras ops so it runs on every backend and device.
- `cluster_accuracy` (best one-to-one matching of clusters to labels, the
  Hungarian algorithm, as in Xie et al. 2016, DEC) and
  `normalized_mutual_info` (Strehl & Ghosh 2002, arithmetic-mean normalisation
  like scikit-learn's default).
- `retrieval_precision`: precision@k of nearest neighbours in code space.
"""

import keras
import numpy as np
from keras import ops
from scipy.optimize import linear_sum_assignment

from zoo.data.shuffle import shuffled_passes


def _as_features(x, name):
    x = np.asarray(x, dtype="float32")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} must be an array of shape (n, ...) with n >= 1; got {x.shape}")
    x = x.reshape(len(x), -1)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _as_labels(y, n, name):
    y = np.asarray(y)
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer labels of shape ({n},); got {y.dtype} {y.shape}")
    return y.astype("int64")


def _squared_distances(a, b):
    """||a_i - b_j||^2 for tensors a (n, d) and b (m, d), clipped at 0."""
    return ops.maximum(
        ops.sum(a * a, axis=1, keepdims=True) - 2.0 * ops.matmul(a, ops.transpose(b)) + ops.sum(b * b, axis=1), 0.0)


def _kmeans_plus_plus(x, k, rng):
    """k-means++ seeding: each next centre is drawn with probability proportional to D(x)^2."""
    centres = [x[rng.integers(len(x))]]
    closest = np.sum((x - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = closest.sum()
        index = rng.choice(len(x), p=closest / total) if total > 0 else rng.integers(len(x))
        centres.append(x[index])
        closest = np.minimum(closest, np.sum((x - x[index]) ** 2, axis=1))
    return np.stack(centres)


def kmeans(x, k, n_init=10, max_iter=300, tol=1e-4, seed=0):
    """Clusters the rows of `x` into `k` groups; returns `(centres, assignments, inertia)`.

    The best of `n_init` runs (lowest within-cluster sum of squares) is kept.
    Lloyd steps run in Keras ops; a cluster that empties keeps its centre.
    """
    x = _as_features(x, "x")
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be between 1 and the number of points ({len(x)}); got {k}")
    rng = np.random.default_rng(seed)
    points = ops.convert_to_tensor(x)
    threshold = tol * float(np.mean(np.var(x, axis=0))) * k  # converged when centres move less than this
    best = None
    for _ in range(n_init):
        centres = ops.convert_to_tensor(_kmeans_plus_plus(x, k, rng))
        for _ in range(max_iter):
            assign = ops.argmin(_squared_distances(points, centres), axis=1)
            one_hot = ops.one_hot(assign, k, dtype="float32")
            counts = ops.sum(one_hot, axis=0)
            sums = ops.matmul(ops.transpose(one_hot), points)
            new = ops.where(counts[:, None] > 0, sums / ops.maximum(counts, 1.0)[:, None], centres)
            shift = float(ops.sum(ops.square(new - centres)))
            centres = new
            if shift <= threshold:
                break
        distances = _squared_distances(points, centres)
        assign = ops.convert_to_numpy(ops.argmin(distances, axis=1))
        inertia = float(ops.sum(ops.min(distances, axis=1)))
        if best is None or inertia < best[2]:
            best = (ops.convert_to_numpy(centres), assign.astype("int64"), inertia)
    return best


def _contingency(labels, clusters):
    _, y = np.unique(labels, return_inverse=True)
    _, c = np.unique(clusters, return_inverse=True)
    table = np.zeros((c.max() + 1, y.max() + 1), dtype="int64")
    np.add.at(table, (c, y), 1)
    return table


def cluster_accuracy(labels, clusters):
    """Accuracy of `clusters` under the best one-to-one map from clusters to labels.

    A relabelled copy of the labels scores 1.0; unmatched clusters count as wrong.
    """
    labels = _as_labels(labels, len(np.asarray(labels)), "labels")
    clusters = _as_labels(clusters, len(labels), "clusters")
    table = _contingency(labels, clusters)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(labels))


def normalized_mutual_info(labels, clusters):
    """I(labels; clusters) / mean(H(labels), H(clusters)); 1 for a relabelling, ~0 for independence."""
    labels = _as_labels(labels, len(np.asarray(labels)), "labels")
    clusters = _as_labels(clusters, len(labels), "clusters")
    joint = _contingency(labels, clusters) / len(labels)
    p_c, p_y = joint.sum(axis=1), joint.sum(axis=0)
    nonzero = joint > 0
    mutual = float(np.sum(joint[nonzero] * np.log(joint[nonzero] / np.outer(p_c, p_y)[nonzero])))
    entropy_c = -float(np.sum(p_c[p_c > 0] * np.log(p_c[p_c > 0])))
    entropy_y = -float(np.sum(p_y[p_y > 0] * np.log(p_y[p_y > 0])))
    if entropy_c == 0.0 and entropy_y == 0.0:
        return 1.0
    return max(0.0, mutual / (0.5 * (entropy_c + entropy_y)))


class _Batches(keras.utils.PyDataset):
    """`steps` shuffled batches as one epoch: passes over (x, y), each in a fresh order.

    Small labelled sets then cost no per-epoch overhead and big ones no copies.
    """

    def __init__(self, x, y, steps, batch_size, seed):
        super().__init__()
        self.x, self.y, self.steps, self.batch_size = x, y, steps, batch_size
        self.order = shuffled_passes(np.random.default_rng(seed), len(x), steps * batch_size)

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]


def linear_probe(train_codes, train_labels, test_codes, test_labels, steps=5000, batch_size=256,
                 learning_rate=1e-2, l2=1e-5, seed=0):
    """Test accuracy of a logistic regression trained on frozen codes.

    Codes are standardised with the training set's mean and deviation; the
    classifier is one softmax layer fit with Adam for a fixed number of
    `steps` (a convex problem, so the optimiser only changes how fast it
    gets there; the number of epochs follows from the data size).
    """
    train_codes, test_codes = _as_features(train_codes, "train_codes"), _as_features(test_codes, "test_codes")
    if train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(f"train and test codes differ in size: {train_codes.shape[1]} vs {test_codes.shape[1]}")
    train_labels = _as_labels(train_labels, len(train_codes), "train_labels")
    test_labels = _as_labels(test_labels, len(test_codes), "test_labels")
    mean, std = train_codes.mean(axis=0), train_codes.std(axis=0) + 1e-6
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    keras.utils.set_random_seed(seed)
    probe = keras.Sequential([
        keras.Input((train_codes.shape[1],)),
        keras.layers.Dense(n_classes, kernel_regularizer=keras.regularizers.L2(l2)),
    ])
    probe.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    probe.fit(_Batches((train_codes - mean) / std, train_labels, steps, batch_size, seed), verbose=0)
    logits = probe.predict((test_codes - mean) / std, batch_size=4096, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == test_labels))


def nearest_neighbours(queries, database, k=10, batch_size=1000, exclude_self=False):
    """Indices (n_queries, k) of each query's `k` nearest database rows (Euclidean), nearest first.

    `exclude_self=True` is for queries that are the database itself: a point is not its own neighbour.
    """
    queries, database = _as_features(queries, "queries"), _as_features(database, "database")
    if queries.shape[1] != database.shape[1]:
        raise ValueError(f"queries and database differ in size: {queries.shape[1]} vs {database.shape[1]}")
    if not 1 <= k <= len(database) - int(exclude_self):
        raise ValueError(f"k must be between 1 and {len(database) - int(exclude_self)}; got {k}")
    base = ops.convert_to_tensor(database)
    found = []
    for start in range(0, len(queries), batch_size):
        distances = _squared_distances(ops.convert_to_tensor(queries[start:start + batch_size]), base)
        if exclude_self:
            rows = ops.arange(ops.shape(distances)[0]) + start
            distances = ops.where(ops.one_hot(rows, len(database), dtype="float32") > 0, np.inf, distances)
        _, indices = ops.top_k(-distances, k=k)
        found.append(ops.convert_to_numpy(indices))
    return np.concatenate(found).astype("int64")


def retrieval_precision(query_codes, query_labels, database_codes, database_labels, k=10, exclude_self=False):
    """precision@k: the mean share of each query's k nearest neighbours that carry its label."""
    neighbours = nearest_neighbours(query_codes, database_codes, k=k, exclude_self=exclude_self)
    query_labels = _as_labels(query_labels, len(neighbours), "query_labels")
    database_labels = _as_labels(database_labels, len(np.asarray(database_codes)), "database_labels")
    return float(np.mean(database_labels[neighbours] == query_labels[:, None]))


def balanced_subset(labels, n, seed=0):
    """Indices of `n` examples with (as near as possible) the same count per label, drawn with `seed`."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if n < len(classes) or n > len(labels):
        raise ValueError(f"n must be between {len(classes)} (one per label) and {len(labels)}; got {n}")
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    counts = np.full(len(classes), n // len(classes))
    counts[rng.permutation(len(classes))[: n % len(classes)]] += 1
    return np.sort(np.concatenate([idx[:k] for idx, k in zip(per_class, counts, strict=True)]))


def few_label_accuracy(encoder, x_labeled, y_labeled, x_test, y_test, pretrained=True, steps=500,
                       batch_size=32, learning_rate=1e-3, head_rate=1e-2, fine_tune_rate=0.1, seed=0):
    """Test accuracy of `encoder` + a softmax layer trained on a few labelled images.

    Pre-trained: the head is trained on frozen codes for `steps` at
    `head_rate` (a linear probe), then encoder and head together for `steps`
    more at `fine_tune_rate` x `learning_rate` (so the few labels refine the
    code instead of overwriting it). From scratch (`pretrained=False`): the
    same architecture, freshly initialised, trained end to end at
    `learning_rate` for the same 2 x `steps`. A fixed budget, since a few-label user
    has no labels to spare for early stopping. Returns `{"frozen": accuracy
    after the head-only stage (pre-trained only), "fine_tuned": final accuracy}`.
    `encoder` maps images to codes (its first output if it has several).
    """
    y_labeled = _as_labels(y_labeled, len(x_labeled), "y_labeled")
    y_test = _as_labels(y_test, len(x_test), "y_test")
    x_labeled = np.asarray(x_labeled, "float32")
    keras.utils.set_random_seed(seed)
    body = keras.models.clone_model(encoder)
    if pretrained:
        body.set_weights(encoder.get_weights())
    first = (lambda c: c[0] if isinstance(c, (list, tuple)) else c)
    # Codes are standardised (statistics of the labelled images' initial codes), as in the linear probe,
    # so the head's learning rate suits any code scale.
    scale = keras.layers.Normalization()
    scale.adapt(ops.convert_to_numpy(first(body(x_labeled))))
    inputs = keras.Input(encoder.input_shape[1:])
    classifier = keras.Model(inputs, keras.layers.Dense(int(y_labeled.max()) + 1)(scale(first(body(inputs)))))

    def train(rate, steps, stage_seed):
        classifier.compile(optimizer=keras.optimizers.Adam(rate),
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        classifier.fit(_Batches(x_labeled, y_labeled, steps, batch_size, stage_seed), verbose=0)
        logits = classifier.predict(x_test, batch_size=1000, verbose=0)
        return float(np.mean(np.argmax(logits, axis=1) == y_test))

    if not pretrained:
        return {"fine_tuned": train(learning_rate, 2 * steps, seed)}
    body.trainable = False
    frozen = train(head_rate, steps, seed)
    body.trainable = True
    return {"frozen": frozen, "fine_tuned": train(learning_rate * fine_tune_rate, steps, seed + 1)}
