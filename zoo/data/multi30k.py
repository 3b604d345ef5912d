"""Multi30k task 1 from the local files, and the disjoint-halves protocol for unsupervised translation.

Elliott, Frank, Sima'an & Specia, "Multi30K: Multilingual English-German Image
Descriptions", VL workshop 2016 (en, de); Elliott et al., "Findings of the
Second Shared Task on Multimodal Machine Translation", WMT 2017 (fr). Image
captions and their translations: train (29,000), val (1,014) and
test_2016_flickr (1,000) sentences, line-aligned across en/fr/de. Read from
`$ZOO_DATA_DIR/multi30k/<split>.<lang>.gz` (the layout of the project's
shared/data) after each file's sha256 is checked against MANIFEST.md. The
data is for non-commercial research and education (see that manifest).

Unsupervised protocol (Lample et al., ICLR 2018, Section 4.1): the training
pairs are shuffled with a fixed seed and split in two halves; the first
language's sentences come from one half and the second language's from the
other, so no sentence is ever seen next to its translation. `monolingual`
applies it to any split (the recipe uses it on val too, for the round-trip
selection criterion); test stays parallel, for BLEU only.
"""

import gzip
import hashlib
import os

from zoo.data.shuffle import disjoint_halves
from zoo.errors import DataNotFoundError, InputError

SPLITS = {"train": 29000, "val": 1014, "test_2016_flickr": 1000}
LANGUAGES = ("en", "fr", "de")
# file -> sha256, from shared/data/multi30k/MANIFEST.md
SHA256 = {
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
}


def load_multi30k(split="train", languages=("en", "fr"), data_dir=None):
    """`{language: [sentence, ...]}`: raw (untokenized, original case) sentences, line-aligned across languages.

    Args:
        split: "train", "val" or "test_2016_flickr".
        languages: codes among "en", "fr", "de".
        data_dir: a folder laid out like shared/data (holding `multi30k/`); defaults to `$ZOO_DATA_DIR`.

    Raises:
        InputError: unknown split or language.
        DataNotFoundError: a file is missing, fails its checksum, or has the wrong number of lines.
    """
    if split not in SPLITS:
        raise InputError(f"Unknown Multi30k split {split!r}; expected one of {list(SPLITS)}.")
    languages = _check_languages(languages)
    return {lang: read_sentences(_source_path(f"{split}.{lang}.gz", data_dir), SPLITS[split]) for lang in languages}


def read_sentences(path, expected_count=None):
    """The lines of one gzipped UTF-8 Multi30k file, after its checksum."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        raw = f.read()
    actual = hashlib.sha256(raw).hexdigest()
    if name in SHA256 and actual != SHA256[name]:
        raise DataNotFoundError(
            f"{path} fails its checksum (sha256 {actual}, expected {SHA256[name]} as recorded in "
            "shared/data/multi30k/MANIFEST.md): the file is truncated or altered. Copy it again.")
    try:
        lines = gzip.decompress(raw).decode("utf-8").split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise DataNotFoundError(f"Cannot read {path}: {e}. Expected gzipped UTF-8 text, one sentence a line.") from e
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if expected_count is not None and len(lines) != expected_count:
        raise DataNotFoundError(f"{path} has {len(lines)} lines; expected {expected_count}.")
    return lines


def monolingual(split="train", languages=("en", "fr"), seed=0, data_dir=None):
    """`{language: [sentence, ...]}` for two languages, the first from one half of `split`, the second from the
    other half: no sentence appears with its translation. Also returns the two index arrays."""
    languages = _check_languages(languages)
    if len(languages) != 2:
        raise InputError(f"the disjoint-halves protocol takes two languages; got {list(languages)}")
    sentences = load_multi30k(split, languages, data_dir)
    halves = disjoint_halves(SPLITS[split], seed)
    return {lang: [sentences[lang][i] for i in half] for lang, half in zip(languages, halves, strict=True)}, halves


def _check_languages(languages):
    if isinstance(languages, str):
        languages = (languages,)
    languages = tuple(languages)
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages or len(set(languages)) != len(languages):
        raise InputError(f"languages must be distinct codes among {list(LANGUAGES)}; got {list(languages)}")
    return languages


def _source_path(file, data_dir):
    root = data_dir if data_dir is not None else os.environ.get("ZOO_DATA_DIR")
    if not root:
        raise DataNotFoundError(
            f"Multi30k is read from local files, and ZOO_DATA_DIR is not set: set it to a folder laid out like "
            f"the project's shared/data (holding multi30k/{file}), or pass data_dir=.")
    path = os.path.join(os.fspath(root), "multi30k", file)
    if not os.path.isfile(path):
        raise DataNotFoundError(f"No Multi30k file at {path}; expected {root} to hold multi30k/{file} "
                                "(as shared/data does).")
    return path


def multi30k_tokenizer(languages=("en", "fr"), vocab_size=6000, split_seed=0, data_dir=None, max_sentences=None):
    """The joint vocabulary of `unmt_multi30k_*`: SentencePiece BPE learned on the two monolingual training
    halves of Multi30k (`monolingual`), or on their first `max_sentences` each. Deterministic: the same
    arguments give the same vocabulary. Imports no Keras, so the benchmarks' plain references use it too."""
    from zoo.text.tokenizer import SubwordTokenizer

    if max_sentences is not None and (isinstance(max_sentences, bool) or not isinstance(max_sentences, int)
                                      or max_sentences < 1):
        raise InputError(f"max_sentences must be None (every sentence) or an int >= 1; got {max_sentences!r}")
    sentences, _ = monolingual("train", languages, seed=split_seed, data_dir=data_dir)
    texts = [s for lang in languages for s in sentences[lang][:max_sentences]]
    return SubwordTokenizer.train(texts, languages, vocab_size)
