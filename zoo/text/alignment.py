"""Cross-lingual word embeddings without parallel data: adversarial alignment, then Procrustes refinement.

Conneau, Lample, Ranzato, Denoyer & Jegou, "Word Translation Without Parallel
Data", ICLR 2018 (arXiv:1710.04087), the MUSE method that Lample et al. (ICLR
2018) use to start unsupervised translation:

1. Adversarial: a linear map W sends source embeddings into the target space;
   a discriminator learns to tell W x from target embeddings y, and W learns
   to fool it. Both are trained with SGD (0.1), the discriminator `n_critic`
   (5) times per mapping step, on batches of 32 words drawn uniformly from the
   most frequent words, with label smoothing 0.1 and dropout 0.1 on its
   input. After each mapping update W is pulled back towards the orthogonal
   matrices: W <- (1 + beta) W - beta (W W^T) W, beta = 0.001.
2. Refinement: a dictionary of mutual CSLS nearest neighbours among the most
   frequent words, then W = U V^T from the SVD of the dictionary's
   cross-covariance (orthogonal Procrustes), repeated a few times.
3. Model selection without a dictionary: the mean cosine between the most
   frequent source words and their CSLS translations; the map with the best
   score is kept (after each epoch, and each refinement).

A second unsupervised start (`method="identical"`): the words spelt the same
in both vocabularies (numbers, names, "t-shirt", "jeans", punctuation) as a
seed dictionary for Procrustes, then the same refinement. Smith, Turban,
Hamblin & Hammerla ("Offline bilingual word vectors, orthogonal
transformations and the inverted softmax", ICLR 2017) showed identical strings
are enough to align related languages; Artetxe, Labaka & Agirre (ACL 2017)
started from numerals alone; Conneau et al. report this "identical character
strings" baseline too. On Multi30k's 14,500 captions a language, the
adversarial game finds no alignment (word-by-word BLEU about 0.05) while this
seed does. `method="best"` runs both and keeps the map with the higher
unsupervised criterion (3.), so no parallel data enters the choice.

The adversarial step is an `AdversarialModel` (one `train_step` for every
backend); the refinement and the criterion are numpy. The map is kept as a
`(dim, dim)` matrix that multiplies row vectors: `mapped = x @ W`.
"""

import math
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import layers, ops

from zoo.errors import InputError
from zoo.text.embeddings import nearest_neighbours, unit_rows
from zoo.trainers import AdversarialModel


@keras.saving.register_keras_serializable(package="zoo")
class EmbeddingAligner(AdversarialModel):
    """The adversarial game of MUSE: `mapping` (a `dim x dim` linear map) against `discriminator` (an MLP).

    Train with `fit(AlignmentBatches(source, target, ...))`; each batch holds
    `n_critic + 1` sub-batches of each language: one per discriminator update
    and a last one for the mapping update. `matrix` is the current W.
    """

    players = ("mapping", "discriminator")
    tracked = ("discriminator_loss", "mapping_loss")

    def __init__(self, dim, hidden=512, depth=2, input_dropout=0.1, smoothing=0.1, beta=0.001, seed=None, **kwargs):
        super().__init__(latent_dim=None, seed=seed, **kwargs)
        self.dim = int(dim)
        self.hidden = int(hidden)
        self.depth = int(depth)
        self.input_dropout = float(input_dropout)
        self.smoothing = float(smoothing)
        self.beta = float(beta)
        self.mapping = keras.Sequential([keras.Input((self.dim,)), layers.Dense(
            self.dim, use_bias=False, kernel_initializer="identity", name="map")], name="mapping")
        stack = [keras.Input((self.dim,)), layers.Dropout(self.input_dropout, seed=seed)]
        for i in range(self.depth):
            stack += [layers.Dense(self.hidden, name=f"dense_{i}"), layers.LeakyReLU(0.2)]
        self.discriminator = keras.Sequential(stack + [layers.Dense(1, name="score")], name="discriminator")
        self.built = True

    def call(self, x, training=False):
        return self.mapping(x, training=training)

    @property
    def kernel(self):
        return self.mapping.get_layer("map").kernel

    @property
    def matrix(self):
        """W as float32 numpy `(dim, dim)`: `mapped = x @ W`."""
        return ops.convert_to_numpy(self.kernel.value).astype("float32")

    def set_matrix(self, matrix):
        self.kernel.assign(np.asarray(matrix, dtype="float32"))

    def compile(self, optimizers=None, learning_rate=0.1, n_critic=5, **kwargs):
        if optimizers is None:
            optimizers = {name: keras.optimizers.SGD(learning_rate) for name in self.players}
        super().compile(optimizers=optimizers, n_critic=n_critic, **kwargs)

    def _labels(self, batch_size):
        # MUSE: mapped source words are labelled 1 - s, target words s (s = label smoothing).
        return ops.concatenate([ops.full((batch_size, 1), 1.0 - self.smoothing),
                                ops.full((batch_size, 1), self.smoothing)], axis=0)

    def discriminator_loss(self, source, target):
        """Binary cross-entropy of the discriminator telling W x (label 1 - s) from y (label s)."""
        mapped = ops.cast(ops.stop_gradient(self.mapping(source)), target.dtype)  # a mixed policy's W x is float16
        logits = ops.cast(self.discriminator(ops.concatenate([mapped, target], axis=0), training=True), "float32")
        loss = ops.mean(keras.losses.binary_crossentropy(self._labels(ops.shape(source)[0]), logits,
                                                         from_logits=True))
        return loss, {"discriminator_loss": loss}

    def mapping_loss(self, source, target):
        """The same cross-entropy with the labels flipped: W learns to make W x look like target words."""
        mapped = ops.cast(self.mapping(source), target.dtype)
        logits = ops.cast(self.discriminator(ops.concatenate([mapped, target], axis=0), training=False), "float32")
        loss = ops.mean(keras.losses.binary_crossentropy(1.0 - self._labels(ops.shape(source)[0]), logits,
                                                         from_logits=True))
        return loss, {"mapping_loss": loss}

    def orthogonalize(self):
        """W <- (1 + beta) W - beta (W W^T) W (MUSE; Cisse et al. 2017), which keeps W close to orthogonal."""
        w = ops.convert_to_tensor(self.kernel.value)
        self.kernel.assign((1.0 + self.beta) * w - self.beta * ops.matmul(ops.matmul(w, ops.transpose(w)), w))

    def train_step(self, data):
        source, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        source, target = ops.convert_to_tensor(source), ops.convert_to_tensor(target)
        if len(source.shape) != 3 or source.shape[0] not in (None, self.n_critic + 1):  # None: TF's traced batches
            raise ValueError(f"each batch must hold n_critic + 1 = {self.n_critic + 1} sub-batches of each language, "
                             f"shape ({self.n_critic + 1}, batch, {self.dim}); got {tuple(source.shape)}")
        terms = {}
        for i in range(self.n_critic):
            terms = self.player_step("discriminator", self.discriminator_loss, source[i], target[i])
        terms.update(self.player_step("mapping", self.mapping_loss, source[-1], target[-1]))
        self.orthogonalize()
        return self.update_trackers(terms)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "hidden": self.hidden, "depth": self.depth,
                "input_dropout": self.input_dropout, "smoothing": self.smoothing, "beta": self.beta,
                "seed": self.seed}


class AlignmentBatches(keras.utils.PyDataset):
    """`(source, target)` batches of shape `(n_critic + 1, batch_size, dim)`: rows drawn uniformly from the
    `most_frequent` first (most frequent) words of each language, for `EmbeddingAligner.fit`."""

    def __init__(self, source, target, batch_size=32, n_critic=5, steps=1000, most_frequent=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.source = np.asarray(source, dtype="float32")
        self.target = np.asarray(target, dtype="float32")
        if self.source.ndim != 2 or self.target.ndim != 2 or self.source.shape[1] != self.target.shape[1]:
            raise InputError(f"source and target must be (n, dim) arrays of one dim; got {self.source.shape} and "
                             f"{self.target.shape}")
        self.shape = (int(n_critic) + 1, int(batch_size))
        self.steps = int(steps)
        self.limits = tuple(min(len(x), most_frequent or len(x)) for x in (self.source, self.target))
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        src = self.source[self.rng.integers(0, self.limits[0], self.shape)]
        tgt = self.target[self.rng.integers(0, self.limits[1], self.shape)]
        return src, tgt


def procrustes(source, target):
    """The orthogonal W minimising ||source @ W - target||_F: U V^T from the SVD of source^T target."""
    u, _, vt = np.linalg.svd(np.asarray(source, "float64").T @ np.asarray(target, "float64"))
    return (u @ vt).astype("float32")


def build_dictionary(mapped_source, target, max_rank=15000, k=10):
    """Pairs `(i, j)` (int arrays) that are each other's CSLS nearest neighbour among the first `max_rank` words
    of each side (MUSE's "S2T&T2S" dictionary)."""
    src, tgt = mapped_source[:max_rank], target[:max_rank]
    forward, _ = nearest_neighbours(src, tgt, k=k, method="csls")
    backward, _ = nearest_neighbours(tgt, src, k=k, method="csls")
    i = np.arange(len(src))
    mutual = backward[forward] == i
    return i[mutual], forward[mutual]


def mean_cosine(mapped_source, target, n=10000, k=10):
    """MUSE's unsupervised validation criterion: the mean cosine between the first `n` source words (mapped)
    and their CSLS translations. Higher is better."""
    src = mapped_source[:n]
    best, _ = nearest_neighbours(src, target, k=k, method="csls")
    return float(np.mean(np.sum(unit_rows(src) * unit_rows(target[best]), axis=1)))


def refine(source, target, matrix, iterations=5, max_rank=15000, k=10, criterion_words=10000):
    """Procrustes refinement from `matrix`; returns the best W by `mean_cosine` and the criterion of each
    iteration (the first value is that of `matrix` itself)."""
    best = np.asarray(matrix, dtype="float32")
    best_score = mean_cosine(source @ best, target, criterion_words, k)
    scores, current = [best_score], best
    for _ in range(int(iterations)):
        i, j = build_dictionary(source @ current, target, max_rank, k)
        if len(i) < 2:
            break
        current = procrustes(source[i], target[j])
        score = mean_cosine(source @ current, target, criterion_words, k)
        scores.append(score)
        if score > best_score:
            best, best_score = current, score
    return best, scores


def identical_strings(source_words, target_words):
    """Index pairs `(i, j)` (int arrays) of the words spelt the same in both vocabularies: an unsupervised seed
    dictionary (Smith et al., ICLR 2017; Artetxe et al., ACL 2017 used the numerals among them)."""
    index = {w: j for j, w in enumerate(target_words)}
    pairs = [(i, index[w]) for i, w in enumerate(source_words) if w in index]
    if not pairs:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    i, j = zip(*pairs)
    return np.array(i, dtype="int64"), np.array(j, dtype="int64")


@dataclass
class Alignment:
    """What `align_embeddings` found: W (`mapped = source @ W`), the criterion along the way, and which start
    (`method`: "adversarial" or "identical") won; `candidates` holds every start's final criterion."""

    matrix: np.ndarray
    criterion: float
    adversarial_criteria: list = field(default_factory=list)  # after each adversarial epoch
    refinement_criteria: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    method: str = "adversarial"
    seed_pairs: int = 0  # size of the identical-strings seed dictionary
    candidates: list = field(default_factory=list)  # [(method, criterion), ...] of every start tried


METHODS = ("adversarial", "identical", "best")


def align_embeddings(source, target, epochs=5, steps_per_epoch=1000, batch_size=32, most_frequent=None,
                     refinement_iterations=5, max_rank=15000, criterion_words=10000, learning_rate=0.1,
                     decay=0.98, hidden=512, restarts=1, seed=0, verbose=0, jit_compile="auto", method="adversarial",
                     source_words=None, target_words=None):
    """Align `source` embeddings `(n, dim)` to `target` `(m, dim)` (rows ordered most frequent first) without
    any dictionary, then refine by Procrustes.

    `method`: "adversarial" (MUSE: adversarial training, the best epoch by `mean_cosine`); "identical" (a
    Procrustes seed from the words spelt the same in `source_words` and `target_words`); "best" (both; the
    alignment with the higher final `mean_cosine` is returned, its `method` says which).

    With `restarts > 1` the adversarial procedure runs from that many seeds (`seed`, `seed + 1`, ...) and the
    alignment with the best final criterion is kept: the criterion needs no dictionary, so this stays
    unsupervised, and it guards against the adversarial game settling in a wrong basin.
    """
    source = np.asarray(source, dtype="float32")
    target = np.asarray(target, dtype="float32")
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise InputError(f"source and target must be (n, dim) arrays of one dim; got {source.shape} and {target.shape}")
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}; got {method!r}")
    if int(restarts) < 1:
        raise InputError(f"restarts must be a positive integer; got {restarts!r}")
    found = []
    if method in ("identical", "best"):
        if source_words is None or target_words is None:
            raise InputError(f"method={method!r} needs source_words and target_words (one word per row)")
        if len(source_words) != len(source) or len(target_words) != len(target):
            raise InputError(f"need one word per embedding row; got {len(source_words)} words for {len(source)} "
                             f"source rows and {len(target_words)} for {len(target)} target rows")
        i, j = identical_strings(source_words, target_words)
        if len(i) >= 2:
            matrix, refinement = refine(source, target, procrustes(source[i], target[j]), refinement_iterations,
                                        max_rank, criterion_words=criterion_words)
            found.append(Alignment(matrix=matrix, criterion=max(refinement), refinement_criteria=refinement,
                                   method="identical", seed_pairs=len(i)))
        elif method == "identical":
            raise InputError(f"the two vocabularies share {len(i)} identical words; the identical-strings seed needs "
                             "at least 2 (use method='adversarial')")
    if method in ("adversarial", "best"):
        for run in range(int(restarts)):
            matrix, criteria, history = _adversarial(
                source, target, epochs, steps_per_epoch, batch_size, most_frequent, criterion_words, learning_rate,
                decay, hidden, seed + run, verbose, jit_compile)
            matrix, refinement = refine(source, target, matrix, refinement_iterations, max_rank,
                                        criterion_words=criterion_words)
            found.append(Alignment(matrix=matrix, criterion=max(refinement), adversarial_criteria=criteria,
                                   refinement_criteria=refinement, history=history))
    best = max(found, key=lambda a: a.criterion)  # the first on ties
    best.candidates = [(a.method, a.criterion) for a in found]
    return best


def _adversarial(source, target, epochs, steps_per_epoch, batch_size, most_frequent, criterion_words,
                 learning_rate, decay, hidden, seed, verbose, jit_compile):
    """The adversarial stage from one seed: the best W by `mean_cosine` over the epochs (the identity counts)."""
    keras.utils.set_random_seed(seed)
    aligner = EmbeddingAligner(source.shape[1], hidden=hidden, seed=seed)
    aligner.compile(learning_rate=learning_rate, jit_compile=jit_compile)
    data = AlignmentBatches(source, target, batch_size=batch_size, n_critic=aligner.n_critic,
                            steps=steps_per_epoch, most_frequent=most_frequent, seed=seed)
    best = aligner.matrix
    best_score = mean_cosine(source @ best, target, criterion_words)
    criteria, history = [], {}
    for epoch in range(int(epochs)):
        rate = learning_rate * decay ** epoch
        for name in aligner.players:
            aligner.optimizer[name].learning_rate = rate
        logs = aligner.fit(data, epochs=1, verbose=verbose).history
        for key, values in logs.items():
            history.setdefault(key, []).extend(values)
        score = mean_cosine(source @ aligner.matrix, target, criterion_words)
        if not math.isfinite(score):
            break
        criteria.append(score)
        if score > best_score:
            best, best_score = aligner.matrix, score
    return best, criteria, history
