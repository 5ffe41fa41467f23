import click

from nlpkit.cli._common import run_stage, stage_options


def _words(value):
    return [w.strip() for w in value.split(",") if w.strip()] if value else []


@click.command()
@click.option("--lang", default="english", show_default=True, help="NLTK stop-word list; 'none' for no list (use --add/--list).")
@click.option("--add", default="", help="Extra stop words, comma-separated.")
@click.option("--list", "lists", multiple=True, type=click.Path(exists=True, dir_okay=False), help="File of extra stop words, one per line (repeatable).")
@click.option("--keep", default=None, help="Words never removed, comma-separated. Default: the negations (not, no, nor, n't forms); --keep '' removes them too.")
@stage_options
def stopwords(stream, lang, add, lists, keep):
    """Remove stop words from `tokens` (or the whitespace-split text).

    \b
      echo "this is not a good movie" | nlpkit stopwords --format text
      not good movie
    """
    from nlpkit.text.stopwords import StopwordsStage, read_word_list

    extra = _words(add) + [w for path in lists for w in read_word_list(path)]
    stage = StopwordsStage(
        lang=None if lang == "none" else lang,
        add=extra,
        keep=None if keep is None else _words(keep),
        field=stream.field,
    )
    run_stage(stage, stream)
