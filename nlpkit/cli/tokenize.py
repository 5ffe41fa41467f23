import click

from nlpkit.cli._common import engine_option, run_registered, stage_options


@click.command()
@engine_option(["nltk", "spacy", "regex", "wordpiece"], "nltk",
               help="nltk: nltk.word_tokenize (Penn Treebank + punkt); spacy: spaCy's tokenizer; regex: a fast word regex; wordpiece: a BERT tokenizer.")
@click.option("--sentences", is_flag=True, help="Also add `sents`: a list of token lists, one per sentence.")
@click.option("--model", default=None, help="spaCy pipeline name or path (engine spacy).")
@click.option("--checkpoint", default=None, help="Transformers checkpoint for the WordPiece vocabulary (default: the offline MiniLM).")
@stage_options
def tokenize(stream, **options):
    """Split text into `tokens` (and `sents` with --sentences).

    \b
      echo "Don't stop." | nlpkit tokenize --format text
      Do n't stop .
    """
    run_registered("tokenize", options, stream)
