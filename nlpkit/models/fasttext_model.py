"""fastText supervised classification (Joulin et al. 2016), kind ``fasttext``.

Uses the ``fasttext`` module of the ``fasttext-modern`` package (numpy 2 safe).
fastText reads whitespace-separated words: a record's ``tokens`` are used as
they are; a text is lowercased and split into words and punctuation. Labels
are stored as their index (``__label__0``...) so that any string works as a
label; the manifest maps them back. Weights are fastText's own ``.bin``.

With more than one thread fastText is not deterministic; the default is one
thread, so a seed reproduces a model exactly. The defaults (bigrams, dim 50,
20 epochs, lr 0.1) were the best of three settings on a validation slice of
the IMDb training data (benchmarks/bench_classical.py).

``vectors`` starts the word embeddings from pre-trained vectors (fastText's
``-pretrainedVectors``; any spec :func:`nlpkit.embeddings.vectors.load_vectors`
reads). Their size is then the model's: it wins over ``dim``, as it does for
the recurrent kinds. The n-gram buckets start from fastText's own random init.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np

from nlpkit.errors import NlpkitError, RecordError
from nlpkit.models.base import Classifier, ModelError
from nlpkit.records import words as record_words

BIN_FILE = "model.bin"
LABEL_PREFIX = "__label__"


def fasttext_line(record: dict, lowercase: bool = True) -> str:
    """One record as the line fastText reads: space-separated words, no newlines."""
    tokens = record.get("tokens")
    if tokens is not None:
        words = [t.lower() for t in tokens] if lowercase else list(tokens)
    else:
        text = record.get("text")
        if not isinstance(text, str):
            raise RecordError("record has neither 'tokens' nor a string 'text' field")
        words = record_words(text.lower() if lowercase else text)
    # a word that starts with __label__ would be read by fastText as one more label: escape it
    return " ".join("_" + w if w.startswith(LABEL_PREFIX) else w for word in words for w in word.split())


FASTTEXT_MAGIC = 793712314  # the first int32 of a fastText .bin


def fasttext_bin_problem(path: str | os.PathLike) -> str | None:
    """Why a fastText .bin cannot be whole, or None when its structure adds up to its size exactly.

    Walks the header, the dictionary and the two matrices' shapes (fastText's
    FASTTEXT_VERSION 12 layout) without reading the weights.
    """
    import mmap
    import struct

    size = os.path.getsize(path)
    if size == 0:
        return "the file is empty"
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = 0

        def take(fmt: str) -> tuple:
            nonlocal pos
            n = struct.calcsize(fmt)
            if pos + n > size:
                raise EOFError
            values = struct.unpack_from(fmt, data, pos)
            pos += n
            return values

        try:
            if take("<ii")[0] != FASTTEXT_MAGIC:
                return "not a fastText model (bad magic number)"
            take("<12id")  # the training arguments
            words, nwords, nlabels, _, prune = take("<iiiqq")
            if not (0 <= nwords <= words and 0 <= nlabels <= words and prune >= -1) or words * 10 > size:
                return f"impossible dictionary sizes ({words:,} entries in {size:,} bytes)"
            for _ in range(words):  # each entry: the word, NUL, an int64 count and an int8 type
                end = data.find(b"\0", pos, min(size, pos + (1 << 20)))
                if end < 0:
                    raise EOFError
                pos = end + 1
                take("<qb")
            if prune > 0:
                take(f"<{2 * prune}i")
            for _ in range(2):  # the input and the output matrix
                if take("<?")[0]:
                    return None  # quantized (.ftz): not checked further
                rows, cols = take("<qq")
                if rows < 0 or cols < 0 or pos + 4 * rows * cols > size:
                    raise EOFError
                pos += 4 * rows * cols
        except EOFError:
            return "the file ends early: it is cut"
    if pos != size:
        return f"{size - pos:,} bytes after the end of its structure"
    return None


def _train_and_save(arguments: dict, bin_path: str) -> None:
    import fasttext

    fasttext.train_supervised(**arguments).save_model(bin_path)


def _train_isolated(arguments: dict):
    """fasttext.train_supervised(**arguments) in a fresh (spawned) process; the model is loaded back from its .bin."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import __main__
    import fasttext

    main_file = getattr(__main__, "__file__", None)
    if getattr(__main__, "__spec__", None) is None and not (main_file and os.path.exists(main_file)):
        # a spawned process re-imports __main__, which an interactive session or stdin script cannot offer
        return fasttext.train_supervised(**arguments)
    with tempfile.TemporaryDirectory(prefix="nlpkit-fasttext-") as tmp:
        bin_path = os.path.join(tmp, BIN_FILE)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_train_and_save, arguments, bin_path).result()
        return fasttext.load_model(bin_path)


def _pretrained_vectors_file(spec, path: str, lowercase: bool) -> dict:
    """Write `spec`'s vectors as the word2vec text file fastText's ``pretrainedVectors`` reads; its arguments."""
    from nlpkit.embeddings.vectors import load_vectors

    keyed_vectors = load_vectors(spec)
    with open(path, "w", encoding="utf-8") as f:
        words = [w for w in keyed_vectors.index_to_key if w and not any(c.isspace() for c in w)
                 and (not lowercase or w == w.lower())]  # lowercased lines never meet a cased word
        f.write(f"{len(words)} {keyed_vectors.vector_size}\n")
        for word in words:
            f.write(word + " " + " ".join(f"{x:.6g}" for x in keyed_vectors[word]) + "\n")
    return {"pretrainedVectors": path, "dim": keyed_vectors.vector_size}


class FastTextClassifier(Classifier):
    kind = "fasttext"
    auto_calibration = "temperature"  # a softmax trained on the log-loss, as the neural kinds
    required_files = (BIN_FILE,)
    libraries = ("fasttext-modern",)

    # full IMDb's validation slice chose bigrams, 40 epochs at lr 0.1 (500k buckets); on a few hundred reviews
    # those barely move the model, and unigrams, 50 epochs at lr 0.5, 100k buckets do (docs/benchmarks.md)
    size_rules = {"ngrams": ([1, 1], [1, 2]), "epochs": (50, 40), "lr": (0.5, 0.1), "bucket": (100_000, 500_000)}

    def __init__(self, ngrams=None, dim=50, epochs=None, lr=None, min_count=1, bucket=None,
                 lowercase=True, threads=1, seed=0, vectors=None):
        if ngrams is not None and int(ngrams[0]) != 1:
            raise ValueError("fastText uses all word n-grams from 1 to N: give --ngrams 1,N (or N)")
        self.ngrams = None if ngrams is None else [int(n) for n in ngrams]
        self.dim = dim
        self.epochs = epochs
        self.lr = lr
        self.min_count = min_count
        self.bucket = bucket
        self.lowercase = lowercase
        self.threads = threads
        self.seed = seed
        self.vectors = vectors

    def fit(self, records, labels, valid=None):
        from nlpkit.scaling import resolve_sized

        resolve_sized(self, len(records))
        self.labels_ = sorted(set(labels))
        index = {label: i for i, label in enumerate(self.labels_)}
        fd, path = tempfile.mkstemp(prefix="nlpkit-fasttext-", suffix=".txt")
        try:
            lines = [f"{LABEL_PREFIX}{index[label]} {fasttext_line(record, self.lowercase)}\n"
                     for record, label in zip(records, labels)]
            # fastText reads its file in order with a decaying learning rate, so a corpus sorted by
            # label (IMDb's files are: all pos, then all neg) leaves the model leaning to the last
            # label: shuffle, seeded, as fastText's own tutorial advises
            random.Random(self.seed).shuffle(lines)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.writelines(lines)
            pretrained = {}
            if self.vectors:
                pretrained = _pretrained_vectors_file(self.vectors, path + ".vec", self.lowercase)
            # Trained in a fresh process: in one that already trained a fastText model, fasttext-modern
            # 0.10 can fail with "Encountered NaN" on the next one (seen in tests: a small model after a
            # larger one), which points at memory it reuses without initialising.
            self._ft = _train_isolated({**dict(
                input=path, dim=self.dim, epoch=self.epochs, lr=self.lr, wordNgrams=self.ngrams[1],
                minCount=self.min_count, bucket=self.bucket, thread=self.threads, seed=self.seed,
                loss="softmax", verbose=0,
            ), **pretrained})
        except RuntimeError as e:  # "Encountered NaN": seen with a high --lr, and with very few --bucket
            raise NlpkitError(
                f"fastText training failed ({e}); try a lower --lr than {self.lr} or more than {self.bucket} --bucket"
            ) from None
        finally:
            for leftover in (path, path + ".vec"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        return self

    def predict_proba(self, records) -> np.ndarray:
        lines = [fasttext_line(r, self.lowercase) for r in records]
        predicted, scores = self._ft.predict(lines, k=-1, threshold=0.0)
        probs = np.zeros((len(lines), len(self.labels_)))
        for row, (names, values) in enumerate(zip(predicted, scores)):
            for name, value in zip(names, values):
                probs[row, int(name[len(LABEL_PREFIX):])] = value
        # fastText clips probabilities at 1e-5 in its output: renormalise rows to sum to one
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = probs / probs.sum(axis=1, keepdims=True)
        if not np.isfinite(probs).all():  # a cut .bin can load and give NaN scores
            raise ModelError(f"{BIN_FILE}: the fastText model gives NaN scores: the file is damaged")
        return probs

    def save_weights(self, directory: Path) -> None:
        self._ft.save_model(str(Path(directory) / BIN_FILE))

    @classmethod
    def load_weights(cls, directory: Path, manifest: dict) -> "FastTextClassifier":
        import fasttext

        path = Path(directory) / BIN_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{BIN_FILE} is missing")
        problem = fasttext_bin_problem(path)
        if problem is not None:  # fastText itself may crash, or loop for minutes, on a cut file
            raise ModelError(f"{path}: damaged fastText model ({problem})")
        model = cls(**manifest["params"])
        model.labels_ = list(manifest["labels"])
        model._ft = fasttext.load_model(str(path))
        if len(model._ft.get_labels()) != len(model.labels_):
            raise ValueError(f"{BIN_FILE} has {len(model._ft.get_labels())} labels, the manifest {len(model.labels_)}")
        try:
            model.predict_proba([{"tokens": ["the"]}])  # a model cut in half loads, then scores NaN
        except ModelError as e:
            raise ModelError(f"{directory}: damaged model directory ({e})") from None
        return model
