import click

from nlpkit.cli._common import run_registered, stage_options


@click.command()
@click.option("--lang", default="english", show_default=True, help="NLTK stop-word list; 'none' for no list (use --add/--list).")
@click.option("--add", default="", help="Extra stop words, comma-separated.")
@click.option("--list", "lists", multiple=True, type=click.Path(exists=True, dir_okay=False), help="File of extra stop words, one per line (repeatable).")
@click.option("--keep", default=None, help="Words never removed, comma-separated. Default: the negations (not, no, nor, n't forms); --keep '' removes them too.")
@stage_options
def stopwords(stream, **options):
    """Remove stop words from `tokens` (or the whitespace-split text).

    \b
      echo "this is not a good movie" | nlpkit stopwords --format text
      not good movie
    """
    run_registered("stopwords", options, stream)
