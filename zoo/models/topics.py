"""Topic models: ProdLDA (a zoo model on every backend) and classical LDA by online variational Bayes.

- ProdLDA: Srivastava & Sutton, "Autoencoding Variational Inference for Topic
  Models", ICLR 2017 (arXiv:1703.01488), as the authors' code
  (github.com/akashgit/autoencoding_vi_for_topic_models, models/prodlda.py and
  run.py) builds it. The encoder reads a document's word counts through two
  softplus layers (100 units each), dropout, and two linear heads, each
  followed by batch normalization, giving the mean and log-variance of a
  Gaussian q(z|d) over K logits. The Dirichlet(alpha) prior over topic
  proportions is replaced by its Laplace approximation in the softmax basis
  (MacKay 1998; the paper's Eq. 3, alpha = 1 for every topic):

      mu_k      = log alpha_k - (1/K) sum_i log alpha_i
      Sigma_kk  = (1/alpha_k) (1 - 2/K) + (1/K^2) sum_i 1/alpha_i

  so the KL term is between two diagonal Gaussians. theta = softmax(z) with
  z ~ q(z|d) by reparameterization, dropout on theta, and the decoder is the
  product of experts: p(w|theta) = softmax(BatchNorm(beta theta)), beta a
  K x V matrix with no bias (the unnormalized topic-word weights). The
  objective is the negative ELBO per document, averaged over the batch:
  -sum_w n_dw log p(w|theta) + KL(q(z|d) || N(mu, Sigma)). The paper trains with
  Adam at 2e-3 and beta_1 = 0.99 (`paper_optimizer`), batches of 200, dropout
  keeping 40% (`dropout=0.6`).

  As in the authors' code, the batch normalizations learn a shift but no scale
  (tf.contrib's default, scale=False). Where that code always normalized with
  the batch's own statistics, even for one test document, here inference
  (`transform`, `perplexity`, `predict`) uses the moving averages, with
  Keras' momentum 0.99 (an average over about 100 steps, under an epoch of
  Multi30k at batch 200). Dropout draws its masks from `zoo.random`, so a
  data-parallel step drops what a one-device step drops.

- `OnlineLDA`: Blei, Ng & Jordan, "Latent Dirichlet Allocation", JMLR 2003,
  fitted by online variational Bayes (Hoffman, Blei & Bach, NIPS 2010) through
  scikit-learn's `LatentDirichletAllocation(learning_method="online")`; numpy
  only, no Keras backend involved. The reference for ProdLDA's coherence.

Both give `topics(top=10)` (each topic's most weighted words), `transform(documents)`
(topic proportions, rows summing to 1) and `perplexity(documents)` from their
own bound. The two bounds differ (ProdLDA's is a Monte Carlo ELBO of a
logistic-normal model, LDA's a mean-field bound of the Dirichlet model):
report both, compare neither across methods. Documents are a list of str (read
through the model's `Vocabulary`) or word counts (n, V) over it; a document
with no vocabulary word is refused with `InputError`.
"""

import keras
import numpy as np
from keras import ops

from zoo import random as zoo_random
from zoo.data.batches import EpochBatches
from zoo.errors import InputError
from zoo.text.bag_of_words import Vocabulary, as_vocabulary, check_counts
from zoo.trainers import SingleLossModel

PAPER_LEARNING_RATE = 2e-3
PAPER_BETA_1 = 0.99
PAPER_BATCH_SIZE = 200


def dirichlet_laplace_prior(alpha, num_topics):
    """Mean and variance (each float32 (K,)) of the Gaussian over softmax logits that approximates
    Dirichlet(alpha) (Laplace approximation in the softmax basis; Srivastava & Sutton 2017, Eq. 3).

    `alpha` is a number (a symmetric prior) or K positive numbers. alpha = 1: mean 0, variance 1 - 1/K.
    """
    if isinstance(num_topics, bool) or not isinstance(num_topics, (int, np.integer)) or num_topics < 2:
        raise InputError(f"num_topics must be an int >= 2; got {num_topics!r}")
    a = np.broadcast_to(np.asarray(alpha, dtype="float64"), (int(num_topics),)) if np.ndim(alpha) == 0 \
        else np.asarray(alpha, dtype="float64")
    if a.shape != (num_topics,) or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InputError(f"alpha must be a positive number or {num_topics} positive numbers; got {alpha!r}")
    k = float(num_topics)
    mean = np.log(a) - np.mean(np.log(a))
    variance = (1.0 / a) * (1.0 - 2.0 / k) + np.sum(1.0 / a) / k ** 2
    return mean.astype("float32"), variance.astype("float32")


def paper_optimizer(learning_rate=PAPER_LEARNING_RATE):
    """Adam with beta_1 = 0.99, as the ProdLDA paper trains (learning rate 2e-3)."""
    return keras.optimizers.Adam(learning_rate, beta_1=PAPER_BETA_1)


def _documents(documents, vocabulary):
    """A list of str or counts (n, V) -> float32 counts, every document holding a vocabulary word."""
    if isinstance(documents, str):
        raise InputError("expected a list of documents; got a single str. Wrap it in a list: [text].")
    if hasattr(documents, "toarray"):
        return check_counts(documents, len(vocabulary))
    if hasattr(documents, "__array__"):
        array = np.asarray(documents)
        if array.dtype.kind not in "UO":
            return check_counts(array, len(vocabulary))
        documents = array.tolist()
    documents = list(documents)
    if not documents:
        raise InputError("no documents given")
    if any(isinstance(d, str) for d in documents):
        return vocabulary.transform(documents, allow_empty=False)
    return check_counts(documents, len(vocabulary))


def _check_sparse_counts(counts, vocabulary_size):
    """A scipy sparse count matrix as float32 CSR, checked as `check_counts` checks a dense one."""
    counts = counts.tocsr().astype("float32")
    if counts.ndim != 2 or counts.shape[1] != vocabulary_size or counts.shape[0] == 0:
        raise InputError(f"counts must have shape (n, {vocabulary_size}) with n >= 1, one column per vocabulary "
                         f"word; got {counts.shape}")
    if not np.all(np.isfinite(counts.data)) or np.any(counts.data < 0):
        raise InputError("counts hold negative, NaN or infinite values; word counts are finite and >= 0")
    empty = np.flatnonzero(np.asarray(counts.sum(axis=1)).ravel() == 0)
    if len(empty):
        raise InputError(f"{len(empty)} of the {counts.shape[0]} documents have no words (rows {empty[:10].tolist()}"
                         f"{'...' if len(empty) > 10 else ''}); leave them out (Vocabulary.nonempty does)")
    return counts


def _check_top(top, vocabulary_size):
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or not 1 <= top <= vocabulary_size:
        raise InputError(f"top must be an int from 1 to the vocabulary size {vocabulary_size}; got {top!r}")
    return int(top)


def top_words(weights, words, top):
    """The `top` words of each row of `weights` (K, V), highest weight first."""
    top = _check_top(top, len(words))
    order = np.argsort(-np.asarray(weights), axis=1, kind="stable")[:, :top]
    return [[words[i] for i in row] for row in order]


@keras.saving.register_keras_serializable(package="zoo")
class ProdLDA(SingleLossModel):
    """ProdLDA (Srivastava & Sutton 2017) over a fixed `Vocabulary`.

    Args:
        vocabulary: a `zoo.text.bag_of_words.Vocabulary` (or its config, or a list of words); kept in the config.
        num_topics: K.
        hidden: the encoder's softplus layers (the paper: 100, 100).
        dropout: the rate dropped on the encoder's last hidden layer and on theta (the authors' code keeps 40%).
        alpha: the Dirichlet prior's concentration (1: the paper's), a number or K numbers.
        batchnorm_momentum: of the moving averages that inference uses.
        seed: of the reparameterization noise and the dropout masks.

    Train on word counts: `model.compile(paper_optimizer()); model.fit(counts, batch_size=200, epochs=...)`
    (`BagOfWordsBatches` feeds a sparse matrix). Then `topics(top=10)`, `transform(documents)`,
    `perplexity(documents)`; `model(counts)` gives topic proportions too.
    """

    tracked = ("loss", "reconstruction", "kl")

    def __init__(self, vocabulary, num_topics=50, hidden=(100, 100), dropout=0.6, alpha=1.0,
                 batchnorm_momentum=0.99, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = as_vocabulary(vocabulary)
        self.num_topics = int(num_topics)
        self.prior_mean, self.prior_variance = dirichlet_laplace_prior(alpha, self.num_topics)
        self.alpha = [float(a) for a in np.ravel(alpha)] if np.ndim(alpha) else float(alpha)
        self.hidden = tuple(int(h) for h in hidden)
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise InputError(f"hidden must list one or more layer widths >= 1; got {hidden!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise InputError(f"dropout is a rate in [0, 1); got {dropout!r}")
        self.dropout = float(dropout)
        self.batchnorm_momentum = float(batchnorm_momentum)
        self.seed = seed
        vocabulary_size = len(self.vocabulary)
        layers = keras.layers
        self.encoder_layers = [layers.Dense(h, activation="softplus", name=f"encoder_{i}")
                               for i, h in enumerate(self.hidden)]
        self.mean_layer = layers.Dense(self.num_topics, name="mean")
        self.mean_norm = layers.BatchNormalization(scale=False, momentum=self.batchnorm_momentum, name="mean_norm")
        self.log_var_layer = layers.Dense(self.num_topics, name="log_var")
        self.log_var_norm = layers.BatchNormalization(scale=False, momentum=self.batchnorm_momentum,
                                                      name="log_var_norm")
        self.topic_word = layers.Dense(vocabulary_size, use_bias=False, name="topic_word")  # beta, (K, V)
        self.decoder_norm = layers.BatchNormalization(scale=False, momentum=self.batchnorm_momentum,
                                                      name="decoder_norm")
        width = vocabulary_size
        for layer in self.encoder_layers:
            layer.build((None, width))
            width = layer.units
        for dense, norm in ((self.mean_layer, self.mean_norm), (self.log_var_layer, self.log_var_norm)):
            dense.build((None, width))
            norm.build((None, self.num_topics))
        self.topic_word.build((None, self.num_topics))
        self.decoder_norm.build((None, vocabulary_size))
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The KL term's weight in the loss: 1 (the ELBO) unless a warm-up (`KLWarmup`) raises it from 0.
        self.kl_weight = self.add_weight(shape=(), initializer="ones", trainable=False, name="kl_weight")
        self.built = True

    def set_kl_weight(self, weight):
        """Weigh the KL term by `weight` in [0, 1] from the next step on (a warm-up; 1 is the ELBO)."""
        if not 0.0 <= float(weight) <= 1.0:
            raise InputError(f"the KL weight is in [0, 1]; got {weight!r}")
        if getattr(self, "_jax_state", None) is not None:  # inside JAX's fit: write its state back first
            self.jax_state_sync()
        self.kl_weight.assign(float(weight))

    # The networks --------------------------------------------------------------------------------------

    def _dropout(self, x, training):
        if not training or self.dropout == 0.0:
            return x
        keep = zoo_random.uniform(ops.shape(x), seed=self.seed_generator) >= self.dropout
        return ops.where(keep, x / (1.0 - self.dropout), ops.zeros_like(x))

    def encode_tensors(self, counts, training=False):
        """q(z|d): mean and log-variance (n, K) of the logits, as tensors."""
        h = counts
        for layer in self.encoder_layers:
            h = layer(h)
        h = self._dropout(h, training)
        mean = self.mean_norm(self.mean_layer(h), training=training)
        log_var = self.log_var_norm(self.log_var_layer(h), training=training)
        return ops.cast(mean, "float32"), ops.cast(log_var, "float32")

    def decode_logits(self, theta, training=False):
        """The product of experts' logits BatchNorm(theta beta) (n, V): log p(w|theta) up to the softmax."""
        theta = self._dropout(theta, training)
        return ops.cast(self.decoder_norm(self.topic_word(theta), training=training), "float32")

    def prior_kl(self, mean, log_var):
        """KL(N(mean, exp(log_var)) || N(prior_mean, prior_variance)) per document (n,), both diagonal."""
        mean, log_var = ops.convert_to_tensor(mean, "float32"), ops.convert_to_tensor(log_var, "float32")
        prior_mean = ops.convert_to_tensor(self.prior_mean)
        prior_variance = ops.convert_to_tensor(self.prior_variance)
        return 0.5 * ops.sum(ops.exp(log_var) / prior_variance + ops.square(prior_mean - mean) / prior_variance
                             - 1.0 + ops.log(prior_variance) - log_var, axis=-1)

    def call(self, counts, training=False):
        mean, _ = self.encode_tensors(ops.convert_to_tensor(counts), training=training)
        return ops.softmax(mean, axis=-1)

    def compute_terms(self, x, y=None, training=False):
        x = ops.cast(x, "float32")
        mean, log_var = self.encode_tensors(x, training=training)
        z = mean + ops.exp(0.5 * log_var) * zoo_random.normal(ops.shape(mean), seed=self.seed_generator)
        logits = self.decode_logits(ops.softmax(z, axis=-1), training=training)
        reconstruction = ops.mean(-ops.sum(x * ops.log_softmax(logits, axis=-1), axis=-1))
        kl = ops.mean(self.prior_kl(mean, log_var))
        loss = reconstruction + ops.cast(self.kl_weight, "float32") * kl
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    def compile_for_finetuning(self):
        """The paper's Adam (2e-3, beta_1 0.99): a topic model this small fine-tunes as it trains."""
        self.compile(optimizer=paper_optimizer())

    def check_inputs(self, x):
        return check_counts(x, len(self.vocabulary))

    # Numpy API for users -------------------------------------------------------------------------------

    def encode(self, documents, batch_size=1000):
        """q(z|d) for each document: `(mean, log_var)`, numpy (n, K)."""
        counts = _documents(documents, self.vocabulary)
        parts = [self.encode_tensors(ops.convert_to_tensor(counts[i:i + batch_size]))
                 for i in range(0, len(counts), batch_size)]
        return tuple(np.concatenate([ops.convert_to_numpy(p[j]) for p in parts]) for j in range(2))

    def transform(self, documents, batch_size=1000):
        """Topic proportions (n, K), rows summing to 1: softmax of the posterior mean of z.

        `documents`: a list of str or word counts (n, V). A document with no vocabulary word raises `InputError`.
        """
        mean, _ = self.encode(documents, batch_size)
        return _softmax(mean).astype("float32")

    def topic_word_weights(self):
        """beta (K, V): the decoder's unnormalized topic-word weights, one row per topic (what the authors rank
        topics' words by)."""
        return ops.convert_to_numpy(self.topic_word.kernel).astype("float32")

    def topics(self, top=10):
        """Each topic's `top` words, highest weight in beta first: a list of K lists of words."""
        return top_words(self.topic_word_weights(), self.vocabulary.words, top)

    def document_bound(self, documents, samples=10, seed=0, batch_size=2000):
        """Each document's negative ELBO in nats (n,), its reconstruction term averaged over `samples` draws of
        z ~ q(z|d) (seeded: the same call gives the same numbers), no dropout, BatchNorm's moving averages.
        `batch_size`: rows (documents times samples) per decoder call."""
        if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
            raise InputError(f"samples must be an int >= 1; got {samples!r}")
        counts = _documents(documents, self.vocabulary)
        rng = np.random.default_rng(seed)
        samples = int(samples)
        chunk = max(1, batch_size // samples)  # documents per decoder call, each repeated `samples` times
        bounds = []
        for start in range(0, len(counts), chunk):
            x = counts[start:start + chunk]
            mean, log_var = (ops.convert_to_numpy(t).astype("float64")
                             for t in self.encode_tensors(ops.convert_to_tensor(x)))
            z = mean[None] + np.exp(0.5 * log_var)[None] * rng.standard_normal((samples,) + mean.shape)
            theta = _softmax(z.reshape(-1, self.num_topics)).astype("float32")
            logits = ops.convert_to_numpy(self.decode_logits(ops.convert_to_tensor(theta))).astype("float64")
            log_p = _log_softmax(logits).reshape(samples, len(x), -1)
            reconstruction = -np.mean(np.sum(x[None] * log_p, axis=2), axis=0)
            kl = 0.5 * np.sum(np.exp(log_var) / self.prior_variance + (self.prior_mean - mean) ** 2 / self.prior_variance
                              - 1.0 + np.log(self.prior_variance) - log_var, axis=1)
            bounds.append(reconstruction + kl)
        return np.concatenate(bounds)

    def perplexity(self, documents, per="document", samples=10, seed=0):
        """Perplexity from the model's own bound (`document_bound`), an upper bound on the true perplexity.

        per="document": exp(mean_d bound_d / N_d), the paper's (the authors' run.py, calcPerp); per="word":
        exp(sum_d bound_d / sum_d N_d), scikit-learn's convention for LDA. N_d: the document's vocabulary words.
        """
        if per not in ("document", "word"):
            raise InputError(f"per is 'document' or 'word'; got {per!r}")
        counts = _documents(documents, self.vocabulary)
        bound = self.document_bound(counts, samples, seed)
        lengths = counts.sum(axis=1).astype("float64")
        return float(np.exp(np.mean(bound / lengths)) if per == "document" else np.exp(bound.sum() / lengths.sum()))

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary.get_config(),
            "num_topics": self.num_topics,
            "hidden": list(self.hidden),
            "dropout": self.dropout,
            "alpha": self.alpha,
            "batchnorm_momentum": self.batchnorm_momentum,
            "seed": self.seed,
        }


def prodlda_multi30k(num_topics=50, data_dir=None, **kwargs):
    """An untrained ProdLDA with the recipe's architecture over the issue's Multi30k vocabulary (English training
    captions, sklearn's stop words removed, words seen 5 times or more: 3,054 words), re-read from
    `$ZOO_DATA_DIR` (deterministic). For the registry's builder."""
    from zoo.text.bag_of_words import multi30k_vocabulary

    return ProdLDA(multi30k_vocabulary(data_dir=data_dir), num_topics=num_topics, **kwargs)


def _softmax(z):
    z = np.asarray(z, dtype="float64")
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class KLWarmup(keras.callbacks.Callback):
    """Raises a ProdLDA's KL weight linearly from 0 to 1 over the first `epochs` epochs (Bowman et al. 2016's
    annealing, against the posterior collapse that short documents invite), set at each epoch's start from the
    epoch's number, so a resumed run sets what the uninterrupted one had."""

    def __init__(self, epochs):
        super().__init__()
        if int(epochs) < 1:
            raise InputError(f"a KL warm-up takes at least one epoch; got {epochs!r}")
        self.epochs = int(epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_kl_weight(min(1.0, epoch / self.epochs))


class BagOfWordsBatches(EpochBatches):
    """Batches of dense float32 counts from a (sparse or dense) count matrix, in a new order every epoch.

    The Multi30k training captions are 350 MB as a dense float32 matrix and 2 MB as scipy CSR
    (`Vocabulary.transform(texts, sparse=True)`); this densifies one batch at a time. Epoch `e`'s order is
    a permutation drawn from `(seed, e)` alone, so a stopped training resumes on the same batches
    (`zoo.resume.fit`). Empty documents are refused, as `fit` refuses them.
    """

    def __init__(self, counts, batch_size=PAPER_BATCH_SIZE, shuffle=True, seed=0, vocabulary_size=None, **kwargs):
        if hasattr(counts, "tocsr"):
            counts = _check_sparse_counts(counts, vocabulary_size or counts.shape[1])
        else:
            counts = check_counts(counts, vocabulary_size or np.shape(counts)[-1])
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be an int >= 1; got {batch_size!r}")
        self.counts = counts.tocsr() if hasattr(counts, "tocsr") else counts
        self.batch_size, self.shuffle, self.seed = int(batch_size), shuffle, int(seed)
        super().__init__(-(-self.counts.shape[0] // self.batch_size), **kwargs)

    def orders(self, epoch):
        n = self.counts.shape[0]
        return np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)

    def batch(self, index, epoch=0):
        rows = self.epoch_orders(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        batch = self.counts[rows]
        return (np.asarray(batch.toarray() if hasattr(batch, "toarray") else batch, dtype="float32"),)


class OnlineLDA:
    """Classical LDA fitted by online variational Bayes (scikit-learn), with ProdLDA's reporting API.

    Args:
        vocabulary: a `Vocabulary` (or its config, or a list of words).
        num_topics: K.
        doc_topic_prior, topic_word_prior: alpha and eta; None is scikit-learn's 1/K.
        batch_size, learning_decay, learning_offset, max_iter: the online schedule (Hoffman et al. 2010's
            tau_0 = learning_offset, kappa = learning_decay); scikit-learn's defaults.
        seed: scikit-learn's random_state.

    `fit(documents)` then `topics(top)`, `transform(documents)` (normalized topic proportions),
    `perplexity(documents)`: scikit-learn's exp(-bound / total words), its bound the mean-field ELBO
    (per word over the corpus, as ProdLDA's `perplexity(per="word")`).
    """

    def __init__(self, vocabulary, num_topics=20, doc_topic_prior=None, topic_word_prior=None, batch_size=128,
                 learning_decay=0.7, learning_offset=10.0, max_iter=10, seed=0):
        self.vocabulary = as_vocabulary(vocabulary)
        if isinstance(num_topics, bool) or not isinstance(num_topics, (int, np.integer)) or num_topics < 2:
            raise InputError(f"num_topics must be an int >= 2; got {num_topics!r}")
        self.num_topics = int(num_topics)
        self.settings = {"doc_topic_prior": doc_topic_prior, "topic_word_prior": topic_word_prior,
                         "batch_size": batch_size, "learning_decay": learning_decay,
                         "learning_offset": learning_offset, "max_iter": max_iter, "seed": seed}
        try:
            from sklearn.decomposition import LatentDirichletAllocation
        except ImportError as e:
            raise ImportError("OnlineLDA needs scikit-learn: pip install scikit-learn") from e
        self.model = LatentDirichletAllocation(
            n_components=self.num_topics, doc_topic_prior=doc_topic_prior, topic_word_prior=topic_word_prior,
            learning_method="online", batch_size=batch_size, learning_decay=learning_decay,
            learning_offset=learning_offset, max_iter=max_iter, random_state=seed)

    def _counts(self, documents):
        if hasattr(documents, "tocsr"):  # scipy sparse: kept sparse, checked without densifying
            return _check_sparse_counts(documents, len(self.vocabulary))
        return _documents(documents, self.vocabulary)

    def _check_fitted(self):
        if not hasattr(self.model, "components_"):
            raise InputError("this OnlineLDA is not fitted yet: call fit(documents) first")

    def fit(self, documents):
        """Fit on documents (a list of str, or counts (n, V), dense or scipy sparse); returns self."""
        self.model.fit(self._counts(documents))
        return self

    def partial_fit(self, documents):
        """One online update on a batch of documents; returns self."""
        self.model.partial_fit(self._counts(documents))
        return self

    def topic_word_weights(self):
        """lambda (K, V): the variational Dirichlet parameters of each topic's word distribution."""
        self._check_fitted()
        return self.model.components_.astype("float32")

    def topics(self, top=10):
        """Each topic's `top` words by lambda, highest first: a list of K lists of words."""
        return top_words(self.topic_word_weights(), self.vocabulary.words, top)

    def transform(self, documents):
        """Topic proportions (n, K), rows summing to 1 (the normalized variational gamma)."""
        self._check_fitted()
        return self.model.transform(self._counts(documents)).astype("float32")

    def perplexity(self, documents):
        """scikit-learn's perplexity exp(-bound / total words) of the documents under the fitted model."""
        self._check_fitted()
        return float(self.model.perplexity(self._counts(documents)))

    def get_config(self):
        return {"vocabulary": self.vocabulary.get_config(), "num_topics": self.num_topics, **self.settings}


__all__ = ["BagOfWordsBatches", "KLWarmup", "OnlineLDA", "ProdLDA", "Vocabulary", "dirichlet_laplace_prior", "paper_optimizer",
           "prodlda_multi30k", "top_words"]
