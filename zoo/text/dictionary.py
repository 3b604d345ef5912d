"""A bilingual dictionary read off parallel sentences by word alignment, to score word translation.

Conneau et al. (ICLR 2018, Section 4.1) score an induced dictionary by its
precision@1 against a reference dictionary. Multi30k has none, so one is read
off its parallel training pairs: IBM Model 1 (Brown, Della Pietra, Della
Pietra & Mercer, Computational Linguistics 1993), trained by EM in both
directions, links every word to its most probable counterpart (or to NULL);
the links of both directions are counted, and a source word's translations
are the target words that take at least `min_share` of its links. Like
MUSE's dictionaries, a word may have several translations, and a prediction
counts as right when it is one of them.

This uses parallel data, so it is for evaluation only: never for training,
alignment or model selection.
"""

from collections import Counter

import numpy as np

from zoo.errors import InputError

NULL = "<null>"


def _check_pairs(source_tokens, target_tokens):
    if len(source_tokens) != len(target_tokens):
        raise InputError(f"need one target sentence per source sentence; got {len(source_tokens)} source and "
                         f"{len(target_tokens)} target sentences")
    if not source_tokens:
        raise InputError("no sentence pairs to align")
    for tokens in (source_tokens[0], target_tokens[0]):
        if isinstance(tokens, str):
            raise InputError("expected token lists (e.g. `pretokenize(sentence)`), got strings")


def ibm_model1(source_tokens, target_tokens, iterations=5):
    """Translation probabilities t(target word | source word) of IBM Model 1, by `iterations` rounds of EM.

    Returns `(links, vocabularies)`: `links` is a `Counter` of `(source word, target word)` Viterbi links, each
    target word linked to its most probable source word or to `NULL`, and `vocabularies` the two word lists.
    """
    _check_pairs(source_tokens, target_tokens)
    if int(iterations) < 1:
        raise InputError(f"iterations must be at least 1; got {iterations}")
    source_words = [NULL] + sorted({w for s in source_tokens for w in s})
    target_words = sorted({w for t in target_tokens for w in t})
    source_index = {w: i for i, w in enumerate(source_words)}
    target_index = {w: i for i, w in enumerate(target_words)}
    # One row per (target token, candidate source token) of every pair; a target token's rows are contiguous.
    src, tgt, group = [], [], []
    position = 0
    for source, target in zip(source_tokens, target_tokens, strict=True):
        s = np.array([0] + [source_index[w] for w in source], dtype="int64")
        t = np.array([target_index[w] for w in target], dtype="int64")
        src.append(np.tile(s, len(t)))
        tgt.append(np.repeat(t, len(s)))
        group.append(np.repeat(np.arange(position, position + len(t)), len(s)))
        position += len(t)
    if position == 0:
        raise InputError("every target sentence is empty")
    src, tgt, group = np.concatenate(src), np.concatenate(tgt), np.concatenate(group)
    keys, pair = np.unique(src * len(target_words) + tgt, return_inverse=True)
    pair_source = keys // len(target_words)
    probability = np.ones(len(keys))
    for _ in range(int(iterations)):
        p = probability[pair]
        posterior = p / np.bincount(group, p, minlength=position)[group]
        counts = np.bincount(pair, posterior, minlength=len(keys))
        probability = counts / np.bincount(pair_source, counts)[pair_source]
    # Viterbi: each target token's best row (rows of a token are contiguous, ties to the first).
    p = probability[pair]
    order = np.lexsort((-p, group))
    first = order[np.r_[True, group[order][1:] != group[order][:-1]]]
    links = Counter(zip((source_words[i] for i in src[first]), (target_words[j] for j in tgt[first]), strict=True))
    return links, (source_words, target_words)


def parallel_dictionary(source_tokens, target_tokens, iterations=5, min_count=5, min_share=0.2):
    """`{source word: [target words, most linked first]}` from word alignments of the pairs, both directions'
    links counted.

    A source word enters when it has at least `min_count` links, with the target words that take at least
    `min_share` of them (NULL links are left out of both counts).
    """
    if not 0.0 < float(min_share) <= 1.0:
        raise InputError(f"min_share must be in (0, 1]; got {min_share}")
    forward, _ = ibm_model1(source_tokens, target_tokens, iterations)
    backward, _ = ibm_model1(target_tokens, source_tokens, iterations)
    links = Counter({(s, t): c for (s, t), c in forward.items() if s != NULL})
    links.update({(s, t): c for (t, s), c in backward.items() if t != NULL})
    totals = Counter()
    for (s, _), c in links.items():
        totals[s] += c
    dictionary = {}
    for (s, t), c in sorted(links.items(), key=lambda item: (-item[1], item[0])):
        if totals[s] >= min_count and c >= min_share * totals[s]:
            dictionary.setdefault(s, []).append(t)
    return dictionary


def precision_at_1(predicted, reference, words=None):
    """Share of the words with a reference entry whose predicted translation is one of the reference's.

    `predicted` maps a source word to one target word, `reference` to several; `words` limits the score
    to those source words (default: every word both know). Returns `(precision, number of words scored)`.
    """
    scored = [w for w in (predicted if words is None else words) if w in predicted and w in reference]
    if not scored:
        raise InputError("no source word is in both the predicted and the reference dictionary")
    right = sum(predicted[w] in reference[w] for w in scored)
    return right / len(scored), len(scored)
