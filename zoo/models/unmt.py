"""Unsupervised machine translation from monolingual corpora only.

Lample, Conneau, Denoyer & Ranzato, "Unsupervised Machine Translation Using
Monolingual Corpora Only", ICLR 2018 (arXiv:1711.00043).

One encoder and one decoder serve both languages (Section 2.1): the encoder
reads a sentence of either language into a sequence of latent states, and the
decoder writes a sentence in the language named by its first input, a
language token. Each training step sums, over both languages l (Section 2.5):

- denoising auto-encoding: rebuild x in l from C(x), x corrupted by word drop
  (p = 0.1) and local shuffle (k = 3) (`zoo.text.noise`);
- cross-domain training (back-translation): rebuild x in l from C(y), where
  y = M(x) is x's translation into the other language by the previous
  iteration's model M (word-by-word translation for the first iteration).
  The translations are made outside the gradient, by the recipe, once per
  iteration, and come in each batch next to x;
- adversarial training: a discriminator on the encoder states of C(x) learns
  which language they come from (cross-entropy with label smoothing), and the
  encoder learns to make it wrong (the flipped labels), so both languages
  share one latent space.

The loss weights are all 1, as in the paper; the translator (embeddings,
encoder, decoder) is trained with Adam (3e-4, beta_1 = 0.5) and the
discriminator with its own RMSprop (5e-4), both as in Section 4.3.

Networks, scaled for a CPU (the paper: 3-layer bi-LSTM encoder and LSTM
decoder with 300 units): a shared subword embedding (one SentencePiece
vocabulary for both languages, tied between encoder input, decoder input and
the output softmax, Press & Wolf 2017), a bidirectional GRU encoder, and a
GRU decoder with Luong's "general" attention (Luong, Pham & Manning, EMNLP
2015) whose initial state is a projection of the mean encoder state. The
discriminator is an MLP with LeakyReLU(0.2) on each encoder state.

With `denoising_weight=0`, `adversarial_weight=0` and
`noise_translations=False`, the same model and step train on true translation
pairs: the supervised upper bound of the paper's Table 2.
"""

import warnings

import keras
import numpy as np
from keras import layers, ops

from zoo.data.multi30k import multi30k_tokenizer
from zoo.data.batches import EpochBatches
from zoo.data.shuffle import shuffled_passes
from zoo.errors import InputError
from zoo.progress import track
from zoo.text.noise import add_noise
from zoo.text.tokenizer import EOS_ID, PAD_ID, SubwordTokenizer
from zoo.trainers import AdversarialModel

NEG = -1e9  # a logit no token can win with, without the inf - inf of -inf


@keras.saving.register_keras_serializable(package="zoo")
class AttentionTranslator(layers.Layer):
    """Shared embedding, bidirectional GRU encoder and attention GRU decoder of one language pair.

    `encode(tokens) -> (states, mask)`, `decode(inputs, states, mask) -> logits` (teacher forcing) and
    `decode_step(token, state, states, keys, mask) -> (logits, state)` (one step, for search).
    Ids are those of a `SubwordTokenizer`; 0 is padding.
    """

    def __init__(self, vocab_size, embedding_dim=256, units=256, encoder_layers=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if int(units) % 2:
            raise ValueError(f"units must be even (the encoder is two GRUs of units / 2); got {units}")
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.encoder_layers = int(encoder_layers)
        self.dropout_rate = float(dropout)
        self.embedding = layers.Embedding(self.vocab_size, self.embedding_dim, name="embedding")
        self.encoder = [layers.Bidirectional(layers.GRU(self.units // 2, return_sequences=True), name=f"encoder_{i}")
                        for i in range(self.encoder_layers)]
        self.bridge = layers.Dense(self.units, activation="tanh", name="bridge")
        self.decoder = layers.GRU(self.units, return_sequences=True, return_state=True, name="decoder")
        self.attention = layers.Dense(self.units, use_bias=False, name="attention")
        self.combine = layers.Dense(self.embedding_dim, activation="tanh", name="combine")
        self.dropout = layers.Dropout(self.dropout_rate)
        self.embedding.build((None, None))
        size = self.embedding_dim
        for rnn in self.encoder:
            rnn.build((None, None, size))
            size = self.units
        self.bridge.build((None, self.units))
        self.decoder.build((None, None, self.embedding_dim))
        self.attention.build((None, None, self.units))
        self.combine.build((None, None, 2 * self.units))
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")
        self.built = True

    def encode(self, tokens, training=False):
        """Ids `(batch, length)` -> states `(batch, length, units)` and the mask of real pieces (padding
        states are 0). An empty row reads as one padding piece, so attention always has somewhere to look."""
        tokens = ops.convert_to_tensor(tokens, "int32")
        first = ops.equal(ops.arange(ops.shape(tokens)[1], dtype="int32"), 0)[None, :]
        mask = ops.logical_or(ops.not_equal(tokens, PAD_ID), first)
        x = self.dropout(self.embedding(tokens), training=training)
        for rnn in self.encoder:
            x = rnn(x, mask=mask, training=training)
        return ops.where(mask[..., None], x, 0.0), mask  # states of padding are 0 (and carry no Keras mask)

    def initial_state(self, states, mask):
        weights = ops.cast(mask, states.dtype)[..., None]
        mean = ops.sum(states * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        return self.bridge(mean)

    def keys(self, states):
        return self.attention(states)

    def _logits(self, outputs, states, keys, mask, training=False):
        """Decoder outputs `(batch, t, units)` -> logits `(batch, t, vocab)` through attention and the tied
        output embedding. The projection runs in the layer's compute precision (`encode`/`decode` are called as
        methods, outside Keras' autocasting, so the float32 weights are cast here); the logits come back in
        float32, for the softmax over the vocabulary."""
        scores = ops.einsum("btu,bsu->bts", outputs, keys)
        scores = ops.where(mask[:, None, :], scores, NEG)
        context = ops.einsum("bts,bsu->btu", ops.softmax(scores, axis=-1), states)
        combined = self.dropout(self.combine(ops.concatenate([outputs, context], axis=-1)), training=training)
        embeddings = ops.cast(self.embedding.embeddings, combined.dtype)
        logits = ops.einsum("bte,ve->btv", combined, embeddings) + ops.cast(self.output_bias, combined.dtype)
        return ops.cast(logits, "float32")

    def decode(self, inputs, states, mask, training=False):
        """Teacher forcing: decoder input ids `(batch, t)` (a language token, then the target) -> logits."""
        x = self.dropout(self.embedding(ops.convert_to_tensor(inputs, "int32")), training=training)
        outputs, _ = self.decoder(x, initial_state=[self.initial_state(states, mask)], training=training)
        return self._logits(outputs, states, self.keys(states), mask, training=training)

    def decode_step(self, token, state, states, keys, mask):
        """One decoding step: ids `(batch,)` and the GRU state -> logits `(batch, vocab)` and the new state."""
        x = self.embedding(ops.convert_to_tensor(token, "int32"))
        output, new_state = self.decoder.cell(x, [state])
        new_state = new_state[0] if isinstance(new_state, (list, tuple)) else new_state
        return self._logits(output[:, None, :], states, keys, mask)[:, 0], new_state

    def call(self, tokens, training=False):
        return self.encode(tokens, training=training)[0]

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "units": self.units, "encoder_layers": self.encoder_layers, "dropout": self.dropout_rate}


def language_discriminator(units, hidden=256, depth=2, name="discriminator"):
    """Encoder states `(batch, length, units)` -> one logit per state: "is this the second language?"
    (the paper: an MLP with LeakyReLU; 3 layers of 1024 there)."""
    inputs = keras.Input((None, units))
    x = inputs
    for i in range(depth):
        x = layers.LeakyReLU(0.2)(layers.Dense(hidden, name=f"dense_{i}")(x))
    return keras.Model(inputs, layers.Dense(1, name="logit")(x), name=name)


def masked_mean(values, mask):
    mask = ops.cast(mask, values.dtype)
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


def teacher_forcing(targets, language_ids):
    """Clean ids `(n, t)` and the decoder's language token per row -> decoder inputs `(n, t + 1)` (the token,
    then the sentence) and targets `(n, t + 1)` (the sentence, then end-of-sentence, then padding)."""
    targets = ops.convert_to_tensor(targets, "int32")
    n, length = ops.shape(targets)[0], ops.shape(targets)[1]
    lengths = ops.sum(ops.cast(ops.not_equal(targets, PAD_ID), "int32"), axis=1)
    padded = ops.concatenate([targets, ops.zeros((n, 1), "int32")], axis=1)
    positions = ops.arange(length + 1, dtype="int32")[None, :]
    outputs = ops.where(ops.equal(positions, lengths[:, None]), EOS_ID, padded)
    inputs = ops.concatenate([ops.cast(language_ids, "int32")[:, None], targets], axis=1)
    return inputs, outputs


def piece_cross_entropy(logits, targets, label_smoothing=0.0):
    """Cross-entropy of each target piece `(n, t)`, and which pieces are real (not padding).

    With `label_smoothing` = e the target is (1 - e) on the true piece and e
    spread evenly over the vocabulary (Szegedy et al. 2016), as in most
    translation models since Vaswani et al. (2017)."""
    losses = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    if label_smoothing:
        spread = -ops.mean(ops.log_softmax(logits, axis=-1), axis=-1)
        losses = (1.0 - label_smoothing) * losses + label_smoothing * spread
    return losses, ops.not_equal(targets, PAD_ID)


def sequence_cross_entropy(logits, targets):
    """Mean cross-entropy over the non-padding target pieces."""
    return masked_mean(*piece_cross_entropy(logits, targets))


@keras.saving.register_keras_serializable(package="zoo")
class UNMT(AdversarialModel):
    """A shared-encoder translator between two languages, trained as in Lample et al. (ICLR 2018).

    Batches are dicts of padded id matrices (`SubwordTokenizer.pad`), all of one
    length: for each language l, `batch[l]` holds monolingual sentences of l
    and `batch[l + "_translated"]` their translations into the other language
    by the previous model (`unmt_batches` builds them). Numpy in, strings out:
    `translate(sentences, src, tgt, beam=1)`; `generate(ids, tgt)` works on ids.
    """

    players = ("translator", "discriminator")

    def __init__(self, tokenizer, embedding_dim=256, units=256, encoder_layers=1, dropout=0.0,
                 discriminator_units=256, discriminator_layers=2, denoising_weight=1.0, backtranslation_weight=1.0,
                 adversarial_weight=1.0, word_dropout=0.1, word_shuffle=3, noise_translations=True,
                 discriminator_smoothing=0.1, max_input_length=100, max_output_length=100, label_smoothing=0.0,
                 seed=None, **kwargs):
        if isinstance(tokenizer, dict):
            tokenizer = SubwordTokenizer.from_config(tokenizer)
        if not isinstance(tokenizer, SubwordTokenizer):
            raise TypeError(f"tokenizer must be a SubwordTokenizer (or its config); got {type(tokenizer).__name__}")
        if len(tokenizer.languages) != 2:
            raise ValueError(f"UNMT translates between two languages; the tokenizer has {list(tokenizer.languages)}")
        weights = (denoising_weight, backtranslation_weight, adversarial_weight)
        if min(weights) < 0 or denoising_weight + backtranslation_weight == 0:
            raise ValueError(f"loss weights must be >= 0, with denoising or back-translation on; got {weights}")
        self.tracked = (("loss",) + (("denoising_loss",) if denoising_weight > 0 else ())
                        + (("backtranslation_loss",) if backtranslation_weight > 0 else ())
                        + (("adversarial_loss", "discriminator_loss", "discriminator_accuracy")
                           if adversarial_weight > 0 else ()))
        super().__init__(latent_dim=None, seed=seed, **kwargs)
        self.tokenizer = tokenizer
        self.languages = tokenizer.languages
        self.embedding_dim, self.units = int(embedding_dim), int(units)
        self.encoder_layers, self.dropout_rate = int(encoder_layers), float(dropout)
        self.discriminator_units, self.discriminator_layers = int(discriminator_units), int(discriminator_layers)
        self.denoising_weight = float(denoising_weight)
        self.backtranslation_weight = float(backtranslation_weight)
        self.adversarial_weight = float(adversarial_weight)
        self.word_dropout, self.word_shuffle = float(word_dropout), int(word_shuffle)
        self.noise_translations = bool(noise_translations)
        self.discriminator_smoothing = float(discriminator_smoothing)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.max_input_length, self.max_output_length = int(max_input_length), int(max_output_length)
        self.translator = AttentionTranslator(tokenizer.vocab_size, self.embedding_dim, self.units,
                                              self.encoder_layers, self.dropout_rate, name="translator")
        self.discriminator = language_discriminator(self.units, self.discriminator_units, self.discriminator_layers)
        banned = np.zeros(tokenizer.vocab_size, dtype="float32")
        banned[tokenizer.special_ids] = NEG  # never write padding, unknown pieces or language tokens
        self.banned = banned
        self.built = True

    def call(self, tokens, training=False):
        return self.translator(tokens, training=training)

    def compile(self, optimizers=None, learning_rate=3e-4, discriminator_learning_rate=5e-4, clipnorm=5.0,
                n_critic=1, **kwargs):
        if optimizers is None:
            optimizers = {"translator": keras.optimizers.Adam(learning_rate, beta_1=0.5, clipnorm=clipnorm),
                          "discriminator": keras.optimizers.RMSprop(discriminator_learning_rate)}
        super().compile(optimizers=optimizers, n_critic=n_critic, **kwargs)

    def compile_for_finetuning(self):
        self.compile()

    # Training -----------------------------------------------------------------------------

    def noise(self, tokens):
        """C(x) on a padded id batch: word drop and local shuffle (`zoo.text.noise`)."""
        return add_noise(tokens, self.tokenizer.word_start, self.word_dropout, self.word_shuffle,
                         seed=self.seed_generator)

    def _language_ids(self, batches):
        return ops.concatenate([ops.full((ops.shape(b)[0],), self.tokenizer.language_id(lang), "int32")
                                for lang, b in zip(self.languages, batches, strict=True)], axis=0)

    def _language_labels(self, batches):
        return ops.concatenate([ops.full((ops.shape(b)[0], ops.shape(b)[1]), float(i), "float32")
                                for i, b in enumerate(batches)], axis=0)

    def discriminator_loss(self, noisy):
        """Cross-entropy of the discriminator naming the language of each encoder state of C(x) (labels 0 and
        1, smoothed towards 1/2 by `discriminator_smoothing`), and its accuracy."""
        states, mask = self.translator.encode(ops.concatenate(noisy, axis=0), training=True)
        logits = ops.cast(self.discriminator(ops.stop_gradient(states), training=True), "float32")
        labels = self._language_labels(noisy)
        smoothed = labels * (1.0 - self.discriminator_smoothing) + 0.5 * self.discriminator_smoothing
        loss = masked_mean(keras.losses.binary_crossentropy(smoothed[..., None], logits, from_logits=True), mask)
        accuracy = masked_mean(ops.cast(ops.equal(ops.cast(logits[..., 0] > 0, "float32"), labels), "float32"),
                               mask)
        return loss, {"discriminator_loss": loss, "discriminator_accuracy": accuracy}

    def translator_loss(self, clean, noisy, translated):
        """The sum over both languages of the weighted denoising, back-translation and adversarial terms."""
        groups = []  # (name, encoder inputs per language)
        if self.denoising_weight > 0 or self.adversarial_weight > 0:
            groups.append(("denoising", noisy))
        if self.backtranslation_weight > 0:
            groups.append(("backtranslation", translated))
        sources = ops.concatenate([b for _, batches in groups for b in batches], axis=0)
        states, mask = self.translator.encode(sources, training=True)
        language_ids = self._language_ids(clean)
        inputs, targets = teacher_forcing(ops.concatenate(list(clean) * len(groups), axis=0),
                                          ops.concatenate([language_ids] * len(groups), axis=0))
        logits = self.translator.decode(inputs, states, mask, training=True)
        # cross-entropy of every piece at once; slices of the logits themselves would each cost a
        # gradient of the logits' full size (batch x length x vocabulary) on torch
        losses, real = piece_cross_entropy(logits, targets, self.label_smoothing)
        terms, loss, start = {}, 0.0, 0
        for name, batches in groups:
            term = 0.0
            for batch in batches:  # one mean per language, summed as in the paper
                size = ops.shape(batch)[0]
                term = term + masked_mean(losses[start:start + size], real[start:start + size])
                start += size
            weight = self.denoising_weight if name == "denoising" else self.backtranslation_weight
            if weight > 0:
                terms[f"{name}_loss"] = term
                loss = loss + weight * term
        if self.adversarial_weight > 0:  # the encoder makes the discriminator name the other language
            size = sum(ops.shape(b)[0] for b in noisy)
            flipped = 1.0 - self._language_labels(noisy)
            logits = ops.cast(self.discriminator(states[:size], training=True), "float32")
            adversarial = masked_mean(keras.losses.binary_crossentropy(flipped[..., None], logits,
                                                                       from_logits=True), mask[:size])
            adversarial = adversarial * len(noisy)  # a sum over the two languages, like the other terms
            terms["adversarial_loss"] = adversarial
            loss = loss + self.adversarial_weight * adversarial
        terms["loss"] = loss
        return loss, terms

    def train_step(self, data):
        batch, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(batch, dict) or any(lang not in batch for lang in self.languages):
            raise ValueError(f"UNMT trains on dict batches with keys {list(self._batch_keys())} (see unmt_batches); "
                             f"got {type(batch).__name__} {list(batch) if isinstance(batch, dict) else ''}")
        clean = [ops.convert_to_tensor(batch[lang], "int32") for lang in self.languages]
        translated = [ops.convert_to_tensor(batch[f"{lang}_translated"], "int32") for lang in self.languages]
        noisy = [self.noise(x) for x in clean] if self.denoising_weight > 0 or self.adversarial_weight > 0 else clean
        if self.noise_translations:
            translated = [self.noise(t) for t in translated]
        terms = {}
        if self.adversarial_weight > 0:
            terms.update(self.player_step("discriminator", self.discriminator_loss, noisy))
        terms.update(self.player_step("translator", self.translator_loss, clean, noisy, translated))
        return self.update_trackers(terms)

    def _batch_keys(self):
        return [key for lang in self.languages for key in (lang, f"{lang}_translated")]

    # Decoding -----------------------------------------------------------------------------

    def _encoded(self, tokens):
        """Encoder states and mask of a padded id batch, through Keras' predict function, which is compiled on
        JAX and TensorFlow (once per batch shape, see `_bucketed`)."""
        tokens = np.asarray(tokens, dtype="int32")
        mask = (tokens != PAD_ID) | (np.arange(tokens.shape[1]) == 0)[None, :]
        return ops.convert_to_tensor(self.predict_on_batch(tokens)), ops.convert_to_tensor(mask)

    def _greedy(self, tokens, language_id, steps):
        states, mask = self._encoded(tokens)
        keys = self.translator.keys(states)
        state = self.translator.initial_state(states, mask)
        token = ops.full((tokens.shape[0],), language_id, "int32")
        banned = ops.convert_to_tensor(self.banned)
        finished = np.zeros(tokens.shape[0], dtype=bool)
        out = []
        for _ in range(steps):
            logits, state = self.translator.decode_step(token, state, states, keys, mask)
            token = ops.cast(ops.argmax(logits + banned, axis=-1), "int32")
            chosen = np.where(finished, PAD_ID, ops.convert_to_numpy(token))
            out.append(chosen)
            finished |= chosen == EOS_ID
            if finished.all():
                break
        return np.stack(out, axis=1)

    def _beam(self, tokens, language_id, steps, beam, length_penalty):
        n, vocab = tokens.shape[0], self.tokenizer.vocab_size
        states, mask = self._encoded(tokens)
        keys = self.translator.keys(states)
        state = self.translator.initial_state(states, mask)
        states, keys, mask, state = (ops.repeat(t, beam, axis=0) for t in (states, keys, mask, state))
        token = ops.full((n * beam,), language_id, "int32")
        banned = ops.convert_to_tensor(self.banned)
        pad_only = ops.convert_to_tensor(np.where(np.arange(vocab) == PAD_ID, 0.0, NEG).astype("float32"))
        scores = ops.convert_to_tensor(np.tile(np.array([0.0] + [NEG] * (beam - 1), "float32"), (n, 1)))
        finished = np.zeros((n, beam), dtype=bool)
        lengths = np.zeros((n, beam), dtype="float32")
        history = []
        for _ in range(steps):
            logits, state = self.translator.decode_step(token, state, states, keys, mask)
            log_probs = ops.reshape(ops.log_softmax(logits + banned, axis=-1), (n, beam, vocab))
            log_probs = ops.where(ops.convert_to_tensor(finished)[..., None], pad_only, log_probs)
            scores, index = ops.top_k(ops.reshape(scores[..., None] + log_probs, (n, beam * vocab)), beam)
            index = ops.convert_to_numpy(index)
            parent, chosen = index // vocab, (index % vocab).astype("int32")
            was_finished = np.take_along_axis(finished, parent, axis=1)
            lengths = np.take_along_axis(lengths, parent, axis=1) + ~was_finished
            finished = was_finished | (chosen == EOS_ID)
            history.append((parent, chosen))
            rows = (np.arange(n)[:, None] * beam + parent).reshape(-1)
            state = ops.take(state, ops.convert_to_tensor(rows.astype("int32")), axis=0)
            token = ops.convert_to_tensor(chosen.reshape(-1))
            if finished.all():
                break
        final = ops.convert_to_numpy(scores) / np.maximum(lengths, 1.0) ** length_penalty
        best = np.argmax(final, axis=1)
        out = np.zeros((n, len(history)), dtype="int32")
        for t in range(len(history) - 1, -1, -1):
            parent, chosen = history[t]
            out[:, t] = chosen[np.arange(n), best]
            best = parent[np.arange(n), best]
        return out

    def generate(self, tokens, target_language, beam=1, max_length=None, length_penalty=1.0, batch_size=64):
        """Id lists (or a padded int matrix) -> the translations' id lists (no end-of-sentence id), by greedy
        search (`beam=1`) or beam search; each output has at most `max_length` pieces (default: twice the
        input's length plus 10, at most `max_output_length`)."""
        language_id = self.tokenizer.language_id(target_language)
        if int(beam) < 1:
            raise InputError(f"beam must be a positive integer; got {beam!r}")
        if max_length is not None and int(max_length) < 1:
            raise InputError(f"max_length must be a positive integer; got {max_length!r}")
        rows = [list(np.asarray(r, dtype="int64")[np.asarray(r) != PAD_ID]) for r in tokens]
        too_long = sum(len(r) > self.max_input_length for r in rows)
        if too_long:
            warnings.warn(f"{too_long} input(s) longer than max_input_length={self.max_input_length} pieces were "
                          "cut to that length before translation", stacklevel=3)
            rows = [r[:self.max_input_length] for r in rows]
        bad = [int(i) for r in rows for i in r if not 0 <= i < self.tokenizer.vocab_size]
        if bad:
            raise InputError(f"id {bad[0]} is outside the vocabulary (0..{self.tokenizer.vocab_size - 1})")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        order = np.argsort([len(r) for r in rows], kind="stable")  # similar lengths batch together
        results = [None] * len(rows)
        for start in track(range(0, len(rows), int(batch_size)), label=f"translating {len(rows)} sentences"):
            index = order[start:start + int(batch_size)]
            batch = _bucketed([rows[i] for i in index])
            longest = max(len(rows[i]) for i in index)
            steps = int(max_length) if max_length is not None else min(2 * longest + 10, self.max_output_length)
            if int(beam) == 1:
                out = self._greedy(batch, language_id, steps)
            else:
                out = self._beam(batch, language_id, steps, int(beam), float(length_penalty))
            for i, row in zip(index, out[:len(index)], strict=True):
                row = list(row)
                row = row[:row.index(EOS_ID)] if EOS_ID in row else row
                results[i] = [int(t) for t in row if t != PAD_ID]
        return results

    def translate(self, sentences, src, tgt, beam=1, max_length=None, length_penalty=1.0, batch_size=64):
        """Sentences of language `src` -> their translations into `tgt` (plain, lowercased text).

        A single string gives a single string. Empty (or whitespace-only)
        sentences translate to "". Characters never seen in training read as
        unknown pieces. Inputs longer than `max_input_length` pieces are cut to
        that length, with a warning; outputs stop at `max_length` pieces
        (default: twice the input plus 10, at most `max_output_length`).
        `src == tgt` gives the model's reconstruction of the sentence. The
        encoder reads any language, so `src` is only checked, not used.
        """
        single = isinstance(sentences, str)
        sentences = [sentences] if single else sentences
        if not hasattr(sentences, "__len__"):
            raise InputError(f"translate takes a list of strings; got {type(sentences).__name__}")
        sentences = list(sentences)
        for i, s in enumerate(sentences):
            if not isinstance(s, str):
                raise InputError(f"sentences[{i}] is a {type(s).__name__}; expected str")
        for name, lang in (("src", src), ("tgt", tgt)):
            if lang not in self.languages:
                raise InputError(f"{name}={lang!r} is not a language of this model; expected one of "
                                 f"{list(self.languages)}")
        ids = self.tokenizer.encode(sentences)
        outputs = [""] * len(sentences)
        todo = [i for i, row in enumerate(ids) if row]
        if todo:
            generated = self.generate([ids[i] for i in todo], tgt, beam=beam, max_length=max_length,
                                      length_penalty=length_penalty, batch_size=batch_size)
            for i, text in zip(todo, self.tokenizer.decode(generated), strict=True):
                outputs[i] = text
        return outputs[0] if single else outputs

    def sample(self, n, seed=None):
        raise NotImplementedError("A UNMT model translates text and draws none from noise: use "
                                  "translate(sentences, src=..., tgt=...).")

    def get_config(self):
        return {
            **super().get_config(),
            "tokenizer": self.tokenizer.get_config(),
            "embedding_dim": self.embedding_dim, "units": self.units, "encoder_layers": self.encoder_layers,
            "dropout": self.dropout_rate, "discriminator_units": self.discriminator_units,
            "discriminator_layers": self.discriminator_layers, "denoising_weight": self.denoising_weight,
            "backtranslation_weight": self.backtranslation_weight, "adversarial_weight": self.adversarial_weight,
            "word_dropout": self.word_dropout, "word_shuffle": self.word_shuffle,
            "noise_translations": self.noise_translations, "discriminator_smoothing": self.discriminator_smoothing,
            "max_input_length": self.max_input_length, "max_output_length": self.max_output_length,
            "label_smoothing": self.label_smoothing, "seed": self.seed,
        }


def _bucketed(rows, multiple=8):
    """Id lists -> a padded matrix whose shape comes from a small set (rows: a power of two; length: a multiple
    of `multiple`), so eager backends that compile per shape (JAX) reuse their compiled ops across batches.
    The extra rows are empty sentences; callers drop their outputs."""
    length = max(multiple, -(-max(len(r) for r in rows) // multiple) * multiple)
    count = 1 << (len(rows) - 1).bit_length()
    return SubwordTokenizer.pad(list(rows) + [[]] * (count - len(rows)), length)


class UNMTBatches(EpochBatches):
    """Dict batches for `UNMT.fit`: `batch_size` sentences of each language and their translations, drawn
    independently per language (the two never line up), all padded to `length` pieces.

    `sentences[l]` and `translations[l]` are id lists (or padded matrices) of
    equal count; an epoch has `steps` batches (default: enough to see the
    larger language once), each language walked in a fresh random order drawn
    from (seed, epoch).
    """

    def __init__(self, sentences, translations, batch_size=32, length=50, steps=None, seed=0, **kwargs):
        languages = tuple(sentences)
        for lang in languages:
            if len(sentences[lang]) != len(translations[lang]) or not len(sentences[lang]):
                raise InputError(f"{lang}: {len(sentences[lang])} sentences but {len(translations[lang])} "
                                 "translations; expected one translation per sentence, at least one")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        largest = max(len(sentences[lang]) for lang in languages)
        super().__init__(int(steps) if steps is not None else max(1, largest // int(batch_size)), **kwargs)
        self.languages = languages
        self.data = {}
        for lang in languages:
            self.data[lang] = SubwordTokenizer.pad(sentences[lang], length)
            self.data[f"{lang}_translated"] = SubwordTokenizer.pad(translations[lang], length)
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    def orders(self, epoch):
        rng = np.random.default_rng([self.seed, epoch])
        count = self.steps * self.batch_size
        return {lang: shuffled_passes(rng, len(self.data[lang]), count) for lang in self.languages}

    def batch(self, index, epoch):
        orders = self.epoch_orders(epoch)
        batch = {}
        for lang in self.languages:
            rows = orders[lang][index * self.batch_size:(index + 1) * self.batch_size]
            batch[lang] = self.data[lang][rows]
            batch[f"{lang}_translated"] = self.data[f"{lang}_translated"][rows]
        return batch


def unmt_batches(sentences, translations, batch_size=32, length=50, steps=None, seed=0):
    """`UNMTBatches(...)`: what `UNMT.fit` trains on."""
    return UNMTBatches(sentences, translations, batch_size=batch_size, length=length, steps=steps, seed=seed)


def unmt_multi30k(languages=("en", "fr"), vocab_size=6000, tokenizer=None, split_seed=0, data_dir=None, seed=None,
                  **kwargs):
    """The architecture of `unmt_multi30k_en_fr` / `unmt_multi30k_en_de`: `UNMT` with the paper's loss weights
    and noise on the vocabulary of `multi30k_tokenizer` (learned from `$ZOO_DATA_DIR` unless `tokenizer` is
    given)."""
    if tokenizer is None:
        tokenizer = multi30k_tokenizer(languages, vocab_size, split_seed, data_dir)
    return UNMT(tokenizer, seed=seed, **kwargs)
