import click

from nlpkit.cli._common import engine_option, run_registered, stage_options
from nlpkit.cli._linguistic import spacy_options


@click.command()
@engine_option(["spacy", "nltk"], "spacy",
               help="spacy: the pipeline's tagger; nltk: NLTK's averaged perceptron (Penn tags, UPOS by NLTK's universal mapping).")
@spacy_options
@stage_options
def tag(stream, **options):
    """Add part-of-speech tags: `pos` (Penn Treebank) and `upos` (Universal POS), aligned with `tokens`.

    Records with `tokens` are tagged on exactly those tokens; others are tokenized
    by the engine first (and get `tokens`). --jobs N runs N spaCy worker processes.

    \b
      echo 'I saw her duck' | nlpkit tag --format text
      PRP VBD PRP$ NN
    """
    run_registered("tag", options, stream)
