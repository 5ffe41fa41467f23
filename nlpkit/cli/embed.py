"""`nlpkit embed`: train word vectors, query them, evaluate them, pool them into document vectors."""

from __future__ import annotations

import click

from nlpkit.cli._common import report_skipped, run_registered, run_stage, stage_options, verbose
from nlpkit.cli._params import declared_options
from nlpkit.embeddings.docvec import VECTORS_HELP, DocVecOptions


@click.group()
def embed():
    """Word embeddings: train (word2vec, GloVe, fastText), similar, analogy, evaluate, docvec.

    \b
      nlpkit embed train --algo word2vec --sg corpus.jsonl.gz -o vectors/w2v
      nlpkit embed similar good bad --vectors glove-6b-50d -k 5
      nlpkit embed analogy "king - man + woman" --vectors glove-6b-50d
      nlpkit embed evaluate --vectors vectors/w2v
      nlpkit tokenize reviews.jsonl | nlpkit embed docvec --vectors glove-6b-50d --lower
    """


# --------------------------------------------------------------------------- train


@embed.command("train")
@click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--algo", type=click.Choice(["word2vec", "glove", "fasttext"]), required=True, help="Training algorithm.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Vectors directory to write (nlpkit.json + vectors file).")
@click.option("--sg/--cbow", default=False, show_default=True, help="Skip-gram or CBOW (word2vec, fasttext).")
@click.option("--dim", type=click.IntRange(min=1), default=100, show_default=True, help="Vector size.")
@click.option("--window", type=click.IntRange(min=1), default=None, help="Context window.  [default: 5; glove: 10]")
@click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True, help="Ignore words seen fewer times.")
@click.option("--negative", type=click.IntRange(min=1), default=5, show_default=True, help="Negative samples (word2vec, fasttext).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Passes over the corpus.  [default: 5; glove: 15]")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Threads (word2vec, fasttext: 1 is reproducible; glove: torch CPU threads).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--min-n", type=click.IntRange(min=1), default=3, show_default=True, help="Shortest character n-gram (fasttext).")
@click.option("--max-n", type=click.IntRange(min=1), default=6, show_default=True, help="Longest character n-gram (fasttext).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N|mps", help="Where GloVe trains.")
@click.option("--x-max", type=click.FloatRange(min=0, min_open=True), default=100.0, show_default=True, help="GloVe weighting cut-off x_max.")
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=0.75, show_default=True, help="GloVe weighting exponent.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=0.05, show_default=True, help="GloVe AdaGrad learning rate.")
@click.option("--glove-batch", type=click.IntRange(min=1), default=4096, show_default=True, help="GloVe co-occurrence pairs per mini-batch.")
@click.option("--save-format", type=click.Choice(["word2vec-text", "word2vec-binary"]), default="word2vec-binary", show_default=True, help="Vectors file of word2vec and glove (fasttext always writes a fastText .bin).")
@click.option("--lower", is_flag=True, help="Lowercase the tokens.")
@click.option("--field", default="text", show_default=True, help="Record field that holds the text (when a record has no `tokens`).")
@click.option("--lines", is_flag=True, help="Read plain-text files as one document per line.")
@click.option("--input-format", type=click.Choice(["auto", "jsonl", "text"]), default="auto", show_default=True, help="Input format.")
@click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True, help="Stop at a bad record, or skip and count it.")
def train(inputs, algo, output, sg, dim, window, min_count, negative, epochs, workers, seed, min_n, max_n, device,
          x_max, alpha, learning_rate, glove_batch, save_format, lower, field, lines, input_format, on_error):
    """Train word vectors on records (their `tokens`, else their text split on whitespace).

    The records are streamed into a temporary one-document-per-line file, which
    gensim reads in corpus_file mode (word2vec, fasttext) and nlpkit's GloVe
    counts co-occurrences from; nothing holds the corpus in memory.

    \b
      nlpkit embed train --algo word2vec --sg --dim 100 reviews.jsonl.gz -o vectors/w2v
      nlpkit embed train --algo glove --epochs 15 --device cuda reviews.jsonl.gz -o vectors/glove
      nlpkit embed train --algo fasttext --min-n 3 --max-n 6 reviews.jsonl.gz -o vectors/ft
    """
    from nlpkit.embeddings.train import train_vectors
    from nlpkit.io import read_items

    show = verbose()

    def on_corpus(stats):
        report_skipped(stats.skipped.summary("embed train"))
        if show:
            click.echo(f"embed train: corpus of {stats.documents:,} documents, {stats.tokens:,} tokens", err=True)

    on_epoch = (lambda e, loss: click.echo(f"embed train: glove epoch {e}: loss {loss:.6f}", err=True)) if show else None
    items = read_items(inputs, field=field, lines=lines, input_format=input_format)
    trained = train_vectors(
        items, output, algo, field=field, lower=lower, on_error=on_error, save_format=save_format,
        on_corpus=on_corpus, on_epoch=on_epoch, sg=sg, dim=dim, window=window, min_count=min_count,
        negative=negative, epochs=epochs, workers=workers, seed=seed, min_n=min_n, max_n=max_n, device=device,
        x_max=x_max, alpha=alpha, learning_rate=learning_rate, glove_batch=glove_batch,
    )
    if show:
        click.echo(f"embed train: {algo}, {trained.vocab_size:,} words x {trained.dim} in {trained.seconds:.1f} s; "
                   f"saved to {output}", err=True)


# --------------------------------------------------------------------------- similar, analogy


def _query_options(f):
    for decorator in reversed([
        click.option("--vectors", required=True, metavar="SPEC", help=VECTORS_HELP),
        click.option("--queries", multiple=True, type=click.Path(allow_dash=True), help="Read queries from records (JSONL: `query`, else --field) or text lines; default stdin when no query is given as an argument."),
        click.option("--field", default="text", show_default=True, help="Record field that holds a query (when a record has no `query`)."),
        click.option("-o", "--output", default="-", show_default=True, type=click.Path(allow_dash=True, dir_okay=False), help="Output file."),
        click.option("--format", "output_format", type=click.Choice(["jsonl", "text"]), default="text", show_default=True, help="text: QUERY<TAB>WORD<TAB>SCORE lines; jsonl: records with the answers added."),
        click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True, help="Stop at a query with unknown words, or skip and count it."),
    ]):
        f = decorator(f)
    return f


def _run_queries(stage, words, queries, field, output, output_format, on_error, answers_field):
    from nlpkit import io
    from nlpkit.files import AtomicFile
    from nlpkit.runner import drive

    if words:
        items = [(f"argument {i}", {"query": word}) for i, word in enumerate(words, 1)]
    else:
        items = io.read_items(queries or ("-",), field=field, lines=True)
    def run_to(out):
        writer = (_AnswersTextWriter(out, field=field, answers_field=answers_field) if output_format == "text"
                  else io.make_writer("jsonl", out))
        return drive(stage, items, writer, on_error=on_error)

    if output == "-":
        report = run_to(io.open_output("-"))
    else:
        with AtomicFile(output) as out:
            report = run_to(out)
    report_skipped(report.skipped.summary(f"embed {answers_field}", "query(ies)"))


class _AnswersTextWriter:
    """QUERY<TAB>WORD<TAB>SCORE, one line per answer: for `cut`, `sort` and `column -t`."""

    def __init__(self, stream, field: str, answers_field: str):
        self.stream, self.field, self.answers_field = stream, field, answers_field

    def write(self, records) -> None:
        lines = []
        for r in records:
            query = r.get("query", r.get(self.field, ""))
            for answer in r[self.answers_field]:
                lines.append(f"{query}\t{answer['word']}\t{answer['score']:.4f}\n")
        self.stream.write("".join(lines).encode("utf-8"))

    def close(self) -> None:
        self.stream.flush()


@embed.command("similar")
@click.argument("words", nargs=-1)
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Neighbours per query.")
@_query_options
def similar(words, vectors, k, queries, field, output, output_format, on_error):
    """Nearest words by cosine similarity, for each WORD (or each query of a stream).

    A query of several words finds the neighbours of their mean. Unknown words are
    an error (fastText vectors build a vector for any word from its n-grams).

    \b
      nlpkit embed similar good --vectors glove-6b-50d -k 3
      good	better	0.9284
      good	really	0.9221
      good	always	0.9165
    """
    from nlpkit.embeddings.similarity import SimilarStage

    _run_queries(SimilarStage(vectors, field=field, k=k), words, queries, field, output, output_format, on_error, "similar")


@embed.command("analogy")
@click.argument("queries_given", nargs=-1, metavar="[QUERY]...")
@click.option("-k", "k", type=click.IntRange(min=1), default=1, show_default=True, help="Answers per query.")
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd", show_default=True, help="3CosAdd (Mikolov et al.) or 3CosMul (Levy and Goldberg).")
@_query_options
def analogy(queries_given, vectors, k, method, queries, field, output, output_format, on_error):
    """Solve analogies: "king - man + woman" (or three words "man king woman": man is to king as woman is to ?).

    \b
      nlpkit embed analogy "king - man + woman" --vectors glove-6b-50d
      king - man + woman	queen	0.8524
    """
    from nlpkit.embeddings.similarity import AnalogyStage

    stage = AnalogyStage(vectors, field=field, k=k, method=method)
    _run_queries(stage, queries_given, queries, field, output, output_format, on_error, "analogy")


# --------------------------------------------------------------------------- evaluate


@embed.command("evaluate")
@click.option("--vectors", required=True, metavar="SPEC", help=VECTORS_HELP)
@click.option("--analogies", default=None, metavar="FILE|none", help="Google-format analogy file.  [default: gensim's questions-words.txt]")
@click.option("--similarity", multiple=True, metavar="FILE", help="Word-pair TSV (word, word, score); repeatable.  [default: gensim's wordsim353.tsv and simlex999.txt]")
@click.option("--restrict-vocab", type=click.IntRange(min=1), default=300_000, show_default=True, help="Only the most frequent N words take part (as gensim).")
@click.option("--case-sensitive", is_flag=True, help="Compare words as written (default: case-insensitive, as gensim).")
@click.option("--json", "as_json", is_flag=True, help="Write the figures as one JSON object on stdout.")
def evaluate(vectors, analogies, similarity, restrict_vocab, case_sensitive, as_json):
    """Analogy accuracy per section and overall, and Spearman correlation on word-similarity sets, with OOV rates.

    The figures are defined as gensim's evaluate_word_analogies / evaluate_word_pairs
    define them, and equal them.

    \b
      nlpkit embed evaluate --vectors glove-6b-50d --json > glove-eval.json
    """
    from nlpkit.embeddings.evaluate import evaluate as run_evaluation
    from nlpkit.embeddings.vectors import load_vectors
    from nlpkit.io import dumps

    kv = load_vectors(vectors)
    result = run_evaluation(kv, analogies, list(similarity) or None, restrict_vocab=restrict_vocab,
                            case_insensitive=not case_sensitive)
    result["vectors"] = str(vectors)
    if as_json:
        click.echo(dumps(result).decode())
        return
    lines = [f"vectors {vectors}: {result['vocab_size']:,} words x {result['dim']}"]
    if "analogies" in result:
        a = result["analogies"]
        lines.append(f"analogies ({a['name']}): accuracy {a['accuracy']:.4f} ({a['correct']:,}/{a['evaluated']:,}); "
                     f"OOV {a['oov_rate']:.1%} of {a['questions']:,} questions")
        for s in a["sections"]:
            lines.append(f"  {s['section']:<28} {s['accuracy']:.4f} ({s['correct']}/{s['total']})")
    for s in result["similarity"]:
        lines.append(f"similarity ({s['name']}): Spearman {s['spearman']:.4f}, Pearson {s['pearson']:.4f} "
                     f"on {s['pairs']} pairs; OOV {s['oov_rate']:.1%}")
    click.echo("\n".join(lines))


# --------------------------------------------------------------------------- docvec


@embed.command("docvec")
@declared_options(DocVecOptions)
@click.option("--npy", type=click.Path(dir_okay=False), default=None, help="Write the vectors to this .npy (and ids to .ids.txt beside it) instead of records.")
@stage_options
def docvec(stream, npy, **options):
    """Add `vector` (a document vector pooled from word vectors) to each record.

    \b
      nlpkit tokenize reviews.jsonl | nlpkit embed docvec --vectors glove-6b-50d --lower
      nlpkit embed docvec --vectors glove-6b-50d --tokenize --pool tfidf --idf train.jsonl.gz train.jsonl.gz --npy train.npy
    """
    if npy is None:
        run_registered("embed docvec", options, stream)
        return
    from nlpkit.embeddings.docvec import NpyWriter
    from nlpkit.stages import build_stage

    stage = build_stage("embed docvec", field=stream.field, **options)
    with NpyWriter(npy) as writer:
        run_stage(stage, stream, name="docvec", writer_factory=lambda stream, **_: writer)
    if verbose():
        click.echo(f"docvec: {writer.rows:,} vectors x {writer.dim} written to {npy} (ids: {writer.ids_path})", err=True)
