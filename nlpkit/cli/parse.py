import click

from nlpkit.cli._common import run_registered, stage_options
from nlpkit.cli._linguistic import spacy_options


@click.command()
@spacy_options
@stage_options
def parse(stream, **options):
    """Add a dependency parse: `deps` ({head, dep} per token; head is a 0-based token index, a root
    points at itself), `lemma`, and the tags the lemmatizer uses (`pos`, `upos`).

    --format conllu writes CoNLL-U, one block per sentence:

    \b
      nlpkit parse --input-format conllu gold.conllu --format conllu > pred.conllu
      nlpkit evaluate-conllu --gold gold.conllu --pred pred.conllu
    """
    run_registered("parse", options, stream)
