"""Corpora: which ones nlpkit knows, where they are, and how to get them.

A corpus on disk is a directory of JSON Lines files, one per split
(``train.jsonl.gz``, ``test.jsonl.gz``, ``unsup.jsonl.gz``), records shaped
``{"id", "text", "label", "rating"}``, plus a ``corpus.json`` manifest when
nlpkit wrote it. :func:`fetch` downloads the authors' original files
(resuming a broken transfer with HTTP Range, checking each md5) and converts
them (:data:`CONVERTERS`: IMDb's aclImdb tarball, GLUE's SST-2.zip, AG News's
CSV files); :func:`import_corpus` converts what is already at hand.

Where a benchmark finds its data (:func:`resolve`): an explicit path, else
the cache (``NLPKIT_HOME``), else ``../shared/corpora/NAME`` beside the
checkout, else the small sample embedded in the repository.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import re
import stat
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nlpkit.download import Progress, download
from nlpkit.errors import InputError, NlpkitError, ResourceMissing
from nlpkit.resources import cache_corpus_dir, nlpkit_home, sample_dir, shared_corpus_dir
from nlpkit.retrieval.beir import PUBLISHED_COUNTS

SPLITS = ("train", "test", "unsup")
MANIFEST = "corpus.json"


@dataclass(frozen=True)
class Download:
    url: str
    file: str  # its name in the cache's downloads/
    md5: str
    size: int | None = None


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    description: str
    citation: str
    downloads: tuple[Download, ...]
    # how the downloaded files become splits: a function name in CONVERTERS
    converter: str
    # record counts of the full corpus, to tell it from a subset
    counts: dict[str, int] = field(default_factory=dict)
    # sha256 of each split's JSONL as nlpkit writes it (the same bytes as ../shared/corpora/imdb)
    jsonl_sha256: dict[str, str] = field(default_factory=dict)
    # where the checksums come from, when not from a download made here
    checksums_note: str | None = None
    # a small copy embedded in the repository (corpora/NAME-sample)
    has_sample: bool = False
    # "splits": train/test/unsup JSONL of labelled records; "beir": a retrieval set in BEIR's layout
    # (corpus.jsonl, queries.jsonl, qrels/*.tsv; see nlpkit.retrieval.beir)
    layout: str = "splits"

    # the first (for imdb and sst2 the only) file: what `corpora info` shows
    @property
    def url(self) -> str:
        return self.downloads[0].url

    @property
    def md5(self) -> str:
        return self.downloads[0].md5


KNOWN: dict[str, CorpusSpec] = {
    "imdb": CorpusSpec(
        name="imdb",
        description="IMDb Large Movie Review Dataset v1.0: 50,000 labelled reviews (pos/neg, balanced) "
        "in the standard 25,000/25,000 train/test split, and 50,000 unlabelled ones",
        citation="Maas, Daly, Pham, Huang, Ng and Potts. 2011. Learning Word Vectors for Sentiment Analysis. ACL-HLT.",
        downloads=(Download("http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz", "aclImdb_v1.tar.gz",
                            "7c2ac02c03563afcf9b574c7e56c153a", 84_125_825),),
        converter="aclimdb",
        has_sample=True,
        counts={"train": 25_000, "test": 25_000, "unsup": 50_000},
        jsonl_sha256={"train": "e8e700242d544b1548b4e7d030fa8d5bc1c0f8c4f40b2d5fe3f1bc23a0ce2328",
                      "test": "2563c14803a732026267a64f44378bf2cbd278fcaaa83c10587689b2d4a64555",
                      "unsup": "97f17af4009718fd33fe05633b9eb12e2ab8c4c8138c9f6b378ad979662c280c"},
    ),
    "sst2": CorpusSpec(
        name="sst2",
        description="GLUE SST-2: Stanford Sentiment Treebank sentences, binary (negative/positive); GLUE's labelled "
        "dev set (872) is the test split, its unlabelled test sentences (1,821) the unsup split",
        citation="Socher, Perelygin, Wu, Chuang, Manning, Ng and Potts. 2013. Recursive Deep Models for Semantic "
        "Compositionality Over a Sentiment Treebank. EMNLP; Wang et al. 2019. GLUE. ICLR.",
        downloads=(Download("https://dl.fbaipublicfiles.com/glue/data/SST-2.zip", "SST-2.zip",
                            "9f81648d4199384278b86e315dac217c"),),
        converter="glue_sst2",
        counts={"train": 67_349, "test": 872, "unsup": 1_821},
        checksums_note="md5 and line counts as published in torchtext's SST2 dataset; not verified by a download "
        "from nlpkit (no network where this was written)",
    ),
    "ag_news": CorpusSpec(
        name="ag_news",
        description="AG News: news titles and descriptions in 4 classes (World, Sports, Business, Sci/Tech), "
        "120,000 train and 7,600 test, Zhang et al. 2015's CSV",
        citation="Zhang, Zhao and LeCun. 2015. Character-level Convolutional Networks for Text Classification. NeurIPS.",
        downloads=(
            Download("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/train.csv",
                     "ag_news-train.csv", "b1a00f826fdfbd249f79597b59e1dc12"),
            Download("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv",
                     "ag_news-test.csv", "d52ea96a97a2d943681189a97654912d"),
        ),
        converter="ag_news_csv",
        counts={"train": 120_000, "test": 7_600},
        checksums_note="md5 and line counts as published in torchtext's AG_NEWS dataset (the same URLs); not verified "
        "by a download from nlpkit (no network where this was written)",
    ),
}

BEIR_CITATION = ("Thakur, Reimers, Rücklé, Srivastava and Gurevych. 2021. BEIR: A Heterogeneous Benchmark for "
                 "Zero-shot Evaluation of Information Retrieval Models. NeurIPS Datasets and Benchmarks.")
BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{}.zip"
BEIR_CHECKSUMS_NOTE = "md5 as published in BEIR's dataset table (its README); not verified by a download from nlpkit"
KNOWN.update({
    "scifact": CorpusSpec(
        name="scifact",
        description="BEIR SciFact: 5,183 scientific abstracts, 300 test claims as queries (fact checking), "
        "in BEIR's retrieval layout",
        citation="Wadden et al. 2020. Fact or Fiction: Verifying Scientific Claims. EMNLP; " + BEIR_CITATION,
        downloads=(Download(BEIR_URL.format("scifact"), "scifact.zip", "5f7d1de60b170fc8027bb7898e2efca1",
                            2_816_079),),
        converter="beir_zip", layout="beir", counts=PUBLISHED_COUNTS["scifact"],
        checksums_note=BEIR_CHECKSUMS_NOTE,
    ),
    "nfcorpus": CorpusSpec(
        name="nfcorpus",
        description="BEIR NFCorpus: 3,633 medical documents (NutritionFacts), 323 test queries with graded "
        "judgements, in BEIR's retrieval layout",
        citation="Boteva, Gholipour, Sokolov and Riezler. 2016. A Full-Text Learning to Rank Dataset for Medical "
        "Information Retrieval. ECIR; " + BEIR_CITATION,
        downloads=(Download(BEIR_URL.format("nfcorpus"), "nfcorpus.zip", "a89dba18a62ef92f7d323ec890a0d38d"),),
        converter="beir_zip", layout="beir", counts=PUBLISHED_COUNTS["nfcorpus"],
        checksums_note=BEIR_CHECKSUMS_NOTE,
    ),
})


def spec(name: str) -> CorpusSpec:
    try:
        return KNOWN[name]
    except KeyError:
        raise NlpkitError(f"unknown corpus {name!r}; known: {', '.join(sorted(KNOWN))}") from None


# --------------------------------------------------------------------------- where corpora are


def split_path(directory: str | os.PathLike, split: str) -> Path | None:
    """The file holding `split` in a corpus directory (``.jsonl.gz`` or ``.jsonl``), or None."""
    directory = Path(directory)
    for suffix in (".jsonl.gz", ".jsonl"):
        path = directory / f"{split}{suffix}"
        if path.is_file():
            return path
    return None


def is_corpus_dir(directory: str | os.PathLike, layout: str = "splits") -> bool:
    if layout == "beir":
        from nlpkit.retrieval.beir import is_beir_dir

        return is_beir_dir(directory)
    return split_path(directory, "train") is not None and split_path(directory, "test") is not None


@dataclass
class CorpusLocation:
    name: str  # "imdb", "imdb-sample"
    origin: str  # "cache", "shared", "sample", "--data"
    path: Path
    present: bool

    @property
    def size_bytes(self) -> int:
        if not self.present:
            return 0
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def locations(name: str) -> list[CorpusLocation]:
    """Every place `name` may live, in the order a benchmark looks."""
    spec(name)
    places = [("cache", cache_corpus_dir(name)), ("shared", shared_corpus_dir(name))]
    out = [CorpusLocation(name, origin, path, is_corpus_dir(path, spec(name).layout)) for origin, path in places]
    if spec(name).has_sample:
        out.append(CorpusLocation(f"{name}-sample", "sample", sample_dir(name), is_corpus_dir(sample_dir(name))))
    return out


@dataclass
class DataSource:
    """Where a benchmark's data came from, and whether its figures compare with published ones."""

    path: Path
    origin: str
    notice: str | None = None

    @property
    def is_sample(self) -> bool:
        return self.origin == "sample"


def resolve(name: str = "imdb", data: str | os.PathLike | None = None) -> DataSource:
    """`data`, else the cache, else ../shared/corpora/NAME, else the embedded sample (with a notice)."""
    if data is not None:
        path = Path(data)
        if not path.exists():
            raise InputError(str(path), "no such file or directory")
        if spec(name).layout == "beir" and not is_corpus_dir(path, "beir"):
            raise InputError(str(path), "not a BEIR directory (expected corpus.jsonl, queries.jsonl and qrels/)")
        if spec(name).layout != "beir" and not is_corpus_dir(path):
            raise InputError(
                str(path),
                f"not a corpus directory (expected train.jsonl[.gz] and test.jsonl[.gz]); "
                f"convert a tarball or aclImdb/ directory with: nlpkit corpora import {name} {path}",
            )
        if path.resolve() == sample_dir(name).resolve():
            return DataSource(path, "sample", _sample_notice(name, path))
        return DataSource(path, "--data")
    for place in locations(name):
        if place.present:
            notice = _sample_notice(name, place.path) if place.origin == "sample" else None
            return DataSource(place.path, place.origin, notice)
    raise ResourceMissing(f"no {name} corpus found; get it with: nlpkit corpora fetch {name}")


def _sample_notice(name: str, path: Path) -> str:
    return (f"using the embedded sample {path} (not the full {name} corpus): the figures are NOT "
            f"comparable with published ones; get the full data with: nlpkit corpora fetch {name}")


def list_corpora() -> list[CorpusLocation]:
    return [place for name in KNOWN for place in locations(name)]


def read_split(directory: str | os.PathLike, split: str) -> Iterator[dict]:
    from nlpkit.io import read_records

    path = split_path(directory, split)
    if path is None:
        raise InputError(str(directory), f"no {split}.jsonl[.gz] in this corpus directory")
    return read_records(str(path))


def corpus_info(directory: str | os.PathLike) -> dict:
    """Per split: file, bytes, records, and label counts (reads every record)."""
    from collections import Counter

    directory = Path(directory)
    info: dict = {"path": str(directory), "splits": {}}
    manifest = directory / MANIFEST
    if manifest.is_file():
        info["manifest"] = json.loads(manifest.read_text())
    for split in SPLITS:
        path = split_path(directory, split)
        if path is None:
            continue
        labels: Counter = Counter()
        for record in read_split(directory, split):
            label = record.get("label")
            labels["unlabelled" if label is None else str(label)] += 1
        info["splits"][split] = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "records": sum(labels.values()),
            "labels": dict(sorted(labels.items())),
        }
    return info


# --------------------------------------------------------------------------- conversion to JSONL

# aclImdb/<split>/<pos|neg|unsup>/<id>_<rating>.txt
REVIEW_RE = re.compile(r"(?:^|/)(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")


def _record(split: str, folder: str, number: str, rating: str, raw: bytes, where: str) -> tuple[str, tuple, dict]:
    """(output split, sort key, record) for one review file, in the shared JSONL shape."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(where, f"not valid UTF-8 (byte {e.start})") from None
    out_split = "unsup" if folder == "unsup" else split
    record = {
        "id": f"{split}/{folder}/{number}_{rating}",
        "text": text,
        "label": None if folder == "unsup" else folder,
        "rating": None if folder == "unsup" else int(rating),
    }
    # pos before neg, then ascending numeric id (the order of ../shared/corpora/imdb)
    return out_split, (folder != "pos", int(number)), record


def _reviews_from_tar(path: Path) -> Iterator[tuple[str, tuple, dict]]:
    try:
        archive = tarfile.open(path, "r:*")
    except (tarfile.ReadError, EOFError, OSError):
        # tarfile's own message lists every compression it tried, one line each
        raise InputError(str(path), "not a (gzip) tar archive") from None
    with archive:
        try:
            for member in archive:
                match = REVIEW_RE.search(member.name)
                if not match or not member.isfile():
                    continue
                f = archive.extractfile(member)
                assert f is not None
                yield _record(*match.groups(), f.read(), f"{path}:{member.name}")
        except (tarfile.TarError, EOFError, OSError) as e:
            raise InputError(str(path), f"damaged tar archive: {e}") from None


def _reviews_from_dir(root: Path) -> Iterator[tuple[str, tuple, dict]]:
    for split in ("train", "test"):
        for folder in ("pos", "neg", "unsup"):
            directory = root / split / folder
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                match = REVIEW_RE.search(path.as_posix())
                if match:
                    raw = _read_regular_file(path)
                    if raw is not None:
                        yield _record(*match.groups(), raw, str(path))


def _read_regular_file(path: Path) -> bytes | None:
    """A review's bytes; None for anything but a regular file: a symlink is not followed (it could
    bring any readable file into the corpus), a FIFO would block, a directory named N_R.txt is not a review."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):  # a symlink, a socket or device, a directory
            return None
        raise InputError(str(path), e.strerror or str(e)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read()


def write_split(path: Path, records: list[dict]) -> str:
    """Write records as gzip JSONL (ASCII, one per line, like ../shared); return the content's sha256."""
    h = hashlib.sha256()
    # mtime=0: the same records give the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        for record in records:
            line = (json.dumps(record) + "\n").encode("ascii")
            h.update(line)
            out.write(line)
    return h.hexdigest()


def _write_corpus(name: str, splits: dict[str, list[dict]], source: dict, dest: Path | None) -> Path:
    from nlpkit.files import AtomicDirectory, write_json

    if not splits.get("train") or not splits.get("test"):
        found = ", ".join(f"{k}: {len(v):,}" for k, v in splits.items() if v) or "no reviews"
        raise InputError(source.get("path") or source.get("url"), f"no train and test reviews found ({found})")
    dest = Path(dest) if dest is not None else cache_corpus_dir(name)
    manifest = {"name": name, "source": source, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "splits": {}}
    with AtomicDirectory(dest) as tmp:
        for split, records in splits.items():
            if records:
                sha = write_split(tmp / f"{split}.jsonl.gz", records)
                manifest["splits"][split] = {"records": len(records), "jsonl_sha256": sha}
        reference = spec(name).jsonl_sha256
        # the whole corpus, converted to exactly the reference bytes: nothing was lost or altered
        manifest["verified"] = bool(reference) and all(
            manifest["splits"].get(split, {}).get("jsonl_sha256") == sha for split, sha in reference.items())
        write_json(tmp / MANIFEST, manifest)
    return dest


def _collect(reviews: Iterator[tuple[str, tuple, dict]]) -> dict[str, list[dict]]:
    keyed: dict[str, list[tuple[tuple, dict]]] = {split: [] for split in SPLITS}
    for split, key, record in reviews:
        keyed[split].append((key, record))
    return {split: [r for _, r in sorted(items, key=lambda kr: kr[0])] for split, items in keyed.items()}


def _copy_jsonl_dir(directory: Path) -> dict[str, list[dict]]:
    from nlpkit.io import iter_records, read_items

    splits: dict[str, list[dict]] = {}
    for split in SPLITS:
        path = split_path(directory, split)
        if path is None:
            continue
        records = []
        for location, record in iter_records(read_items([str(path)])):
            missing = [k for k in ("text", "label") if k not in record]
            if missing or not isinstance(record["text"], str):
                raise InputError(location, f"not a corpus record (needs 'text' and 'label'; missing {missing})")
            if split != "unsup" and record["label"] is None:
                raise InputError(location, f"label is null in the {split} split (unlabelled records belong in unsup)")
            records.append(record)
        splits[split] = records
    return splits


def import_corpus(name: str, path: str | os.PathLike, dest: str | os.PathLike | None = None) -> Path:
    """Convert into the cache: a JSONL directory, or the corpus's own download (imdb: a tarball or an
    extracted aclImdb/ directory; sst2: SST-2.zip; ag_news: a directory holding train.csv and test.csv)."""
    corpus = spec(name)
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "no such file or directory")
    if corpus.layout == "beir":
        return _write_beir(name, _beir_files(path), {"kind": "beir", "path": str(path.resolve())},
                           Path(dest) if dest else None)
    if corpus.converter != "aclimdb" and not is_corpus_dir(path):
        files = [path] if path.is_file() else [path / Path(d.url).name for d in corpus.downloads]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise InputError(str(path), f"not a {name} corpus: no {', '.join(missing)}")
        splits = CONVERTERS[corpus.converter](files)
        return _write_corpus(name, splits, {"kind": corpus.converter, "path": str(path.resolve())},
                             Path(dest) if dest else None)
    if path.is_file():
        splits = _collect(_reviews_from_tar(path))
        kind = "tarball"
    elif is_corpus_dir(path):
        splits = _copy_jsonl_dir(path)
        kind = "jsonl"
    else:
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        if not (root / "train").is_dir():
            raise InputError(
                str(path), "not a corpus: expected a tarball, an aclImdb/ directory (train/pos, ...) "
                "or a directory with train.jsonl[.gz] and test.jsonl[.gz]"
            )
        splits = _collect(_reviews_from_dir(root))
        kind = "aclImdb directory"
    return _write_corpus(name, splits, {"kind": kind, "path": str(path.resolve())}, Path(dest) if dest else None)


def fetch(
    name: str,
    *,
    url: str | None = None,
    md5: str | None = None,
    progress: Progress | None = None,
    dest: str | os.PathLike | None = None,
    keep_archive: bool = False,
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Download the corpus's files into the cache and convert them (see :func:`download`).

    With `url` (a mirror) the official md5 is still expected unless `md5` says otherwise;
    the size is checked only for the official file. For a corpus of several files
    (ag_news), `url` is the mirror's directory: each file is fetched under its own name there.
    """
    corpus = spec(name)
    if md5 is not None and len(corpus.downloads) > 1:
        raise NlpkitError(f"--md5 applies to a corpus of one file; {name} has {len(corpus.downloads)}")
    files = []
    for item in corpus.downloads:
        if url is None:
            source_url = item.url
        elif len(corpus.downloads) == 1:
            source_url = url
        else:
            source_url = url.rstrip("/") + "/" + item.url.rsplit("/", 1)[-1]
        expected_md5 = (md5 or item.md5).lower()
        expected_size = item.size if expected_md5 == item.md5 else None
        path = nlpkit_home() / "downloads" / item.file
        download(source_url, path, md5=expected_md5, size=expected_size, progress=progress,
                 retries=retries, timeout=timeout)
        files.append((path, source_url, expected_md5))
    try:
        converted = CONVERTERS[corpus.converter]([path for path, _, _ in files])
    except InputError:
        for path, _, _ in files:  # what failed to convert is no archive to keep (a mirror's error page...)
            path.unlink(missing_ok=True)
        raise
    source = {"kind": "download", "url": files[0][1], "md5": files[0][2]}
    if len(files) > 1:
        source["files"] = [{"url": u, "md5": m} for _, u, m in files]
    write = _write_beir if corpus.layout == "beir" else _write_corpus
    out = write(name, converted, source, Path(dest) if dest else None)
    if not keep_archive:
        for path, _, _ in files:
            path.unlink(missing_ok=True)
    return out


# --------------------------------------------------------------------------- the other corpora's formats


def _aclimdb(paths: list[Path]) -> dict[str, list[dict]]:
    return _collect(_reviews_from_tar(paths[0]))


SST2_LABELS = {"0": "negative", "1": "positive"}


def _glue_sst2(paths: list[Path]) -> dict[str, list[dict]]:
    """GLUE's SST-2.zip: train.tsv and dev.tsv (sentence, label) become train and test; test.tsv (index,
    sentence, no labels) becomes unsup."""
    import zipfile

    path = paths[0]
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(str(path), f"not a zip archive: {e}") from None
    splits: dict[str, list[dict]] = {}
    with archive:
        members = {Path(n).name: n for n in archive.namelist() if n.endswith(".tsv")}
        for member, split, labelled in (("train.tsv", "train", True), ("dev.tsv", "test", True),
                                        ("test.tsv", "unsup", False)):
            if member not in members:
                raise InputError(str(path), f"no SST-2/{member} in the archive (not GLUE's SST-2.zip)")
            where = f"{path}:{members[member]}"
            lines = archive.read(members[member]).decode("utf-8").splitlines()
            header = lines[0].split("\t") if lines else []
            want = ["sentence", "label"] if labelled else ["index", "sentence"]
            if header != want:
                raise InputError(f"{where}:1", f"header {header!r}, expected {want!r}")
            records = []
            for number, line in enumerate(lines[1:], start=2):
                cells = line.split("\t")
                if len(cells) != 2 or (labelled and cells[1] not in SST2_LABELS):
                    raise InputError(f"{where}:{number}", f"expected {' TAB '.join(want)}, got {line[:80]!r}")
                text, label = (cells[0], SST2_LABELS[cells[1]]) if labelled else (cells[1], None)
                records.append({"id": f"{split}/{number - 1}", "text": text, "label": label})
            splits[split] = records
    return splits


AG_NEWS_LABELS = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}  # Zhang et al.'s classes.txt


def _ag_news_csv(paths: list[Path]) -> dict[str, list[dict]]:
    """Zhang et al. 2015's train.csv and test.csv: "class","title","description"; the text is title + description
    (with their escaped newlines, backslash-n, as spaces)."""
    import csv

    splits: dict[str, list[dict]] = {}
    for path, split in zip(paths, ("train", "test")):
        records = []
        with open(path, encoding="utf-8", newline="") as f:
            try:
                for number, row in enumerate(csv.reader(f), start=1):
                    if len(row) != 3 or row[0] not in AG_NEWS_LABELS:
                        raise InputError(f"{path}:{number}", 'expected "class 1-4","title","description", got '
                                         f"{','.join(row)[:80]!r}")
                    text = f"{row[1]} {row[2]}".replace("\\n", " ")
                    records.append({"id": f"{split}/{number}", "text": text, "label": AG_NEWS_LABELS[row[0]]})
            except (UnicodeDecodeError, csv.Error) as e:
                raise InputError(str(path), f"not a UTF-8 CSV file: {e}") from None
        splits[split] = records
    return splits


# --------------------------------------------------------------------------- BEIR's retrieval sets

BEIR_FILES = re.compile(r"(?:^|/)(corpus\.jsonl|queries\.jsonl|qrels/[^/]+\.tsv)$")


def _beir_zip(paths: list[Path]) -> dict[str, bytes]:
    """BEIR's NAME.zip: NAME/corpus.jsonl, NAME/queries.jsonl and NAME/qrels/*.tsv, checked, by their
    names in the BEIR directory (anything else in the archive is left out)."""
    import zipfile

    path = paths[0]
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(str(path), f"not a zip archive: {e}") from None
    files: dict[str, bytes] = {}
    with archive:
        for member in archive.namelist():
            match = BEIR_FILES.search(member)
            if match and not member.startswith("__MACOSX/"):
                try:
                    files[match.group(1)] = archive.read(member)
                except (zipfile.BadZipFile, OSError, EOFError) as e:
                    raise InputError(f"{path}:{member}", f"damaged zip member: {e}") from None
    return _check_beir(files, str(path))


def _beir_files(path: Path) -> dict[str, bytes]:
    """The BEIR files of a zip archive or of an extracted BEIR directory."""
    if path.is_file():
        return _beir_zip([path])
    files = {}
    for rel in ("corpus.jsonl", "queries.jsonl"):
        if (path / rel).is_file():
            files[rel] = (path / rel).read_bytes()
    for tsv in sorted((path / "qrels").glob("*.tsv")):
        files[f"qrels/{tsv.name}"] = tsv.read_bytes()
    return _check_beir(files, str(path))


def _check_beir(files: dict[str, bytes], where: str) -> dict[str, bytes]:
    from nlpkit.retrieval.beir import check_jsonl, parse_qrels

    missing = [rel for rel in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv") if rel not in files]
    if missing:
        raise InputError(where, f"not a BEIR data set: no {', '.join(missing)}")
    check_jsonl(files["corpus.jsonl"].splitlines(), f"{where}:corpus.jsonl", "document")
    check_jsonl(files["queries.jsonl"].splitlines(), f"{where}:queries.jsonl", "query")
    for rel in files:
        if rel.startswith("qrels/"):
            parse_qrels(files[rel].splitlines(), f"{where}:{rel}")
    return files


def _write_beir(name: str, files: dict[str, bytes], source: dict, dest: Path | None) -> Path:
    """A BEIR directory (its files as they came, and corpus.json) written atomically into the cache."""
    from nlpkit.files import AtomicDirectory, write_json
    from nlpkit.retrieval.beir import parse_qrels

    dest = Path(dest) if dest is not None else cache_corpus_dir(name)
    counts = {rel.removesuffix(".jsonl"): sum(1 for line in files[rel].splitlines() if line.strip())
              for rel in ("corpus.jsonl", "queries.jsonl")}
    for rel in sorted(files):
        if rel.startswith("qrels/"):  # the queries judged in each split
            counts[rel.removesuffix(".tsv")] = len(parse_qrels(files[rel].splitlines(), rel))
    manifest = {"name": name, "layout": "beir", "source": source,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "counts": counts,
                "sha256": {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}}
    with AtomicDirectory(dest) as tmp:
        (tmp / "qrels").mkdir()
        for rel, data in files.items():
            (tmp / rel).write_bytes(data)
        expected = spec(name).counts
        manifest["verified"] = bool(expected) and all(counts.get(k) == v for k, v in expected.items())
        write_json(tmp / MANIFEST, manifest)
    return dest


CONVERTERS = {"aclimdb": _aclimdb, "glue_sst2": _glue_sst2, "ag_news_csv": _ag_news_csv, "beir_zip": _beir_zip}
