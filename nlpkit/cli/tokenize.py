import click

from nlpkit.cli._common import run_stage, stage_options


@click.command()
@click.option("--engine", type=click.Choice(["nltk", "spacy", "regex", "wordpiece"]), default="nltk", show_default=True,
              help="nltk: nltk.word_tokenize (Penn Treebank + punkt); spacy: spaCy's tokenizer; regex: a fast word regex; wordpiece: a BERT tokenizer.")
@click.option("--sentences", is_flag=True, help="Also add `sents`: a list of token lists, one per sentence.")
@click.option("--model", default=None, help="spaCy pipeline name or path (engine spacy).")
@click.option("--checkpoint", default=None, help="Transformers checkpoint for the WordPiece vocabulary (default: the offline MiniLM).")
@stage_options
def tokenize(stream, engine, sentences, model, checkpoint):
    """Split text into `tokens` (and `sents` with --sentences).

    \b
      echo "Don't stop." | nlpkit tokenize --format text
      Do n't stop .
    """
    from nlpkit.text.tokenize import TokenizeStage

    run_stage(TokenizeStage(engine=engine, field=stream.field, sentences=sentences, model=model, checkpoint=checkpoint), stream)
