import click

from nlpkit.cli._common import run_registered, stage_options
from nlpkit.retrieval.chunk import BY_CHOICES, COUNT_CHOICES, MAX_PASSAGE_TOKENS, OVERLAP


@click.command()
@click.option("--by", type=click.Choice(list(BY_CHOICES)), default=BY_CHOICES[0], show_default=True,
              help="tokens: windows of --max-tokens; sentences: whole sentences (NLTK punkt) packed up to --max-tokens.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=MAX_PASSAGE_TOKENS, show_default=True,
              help="Longest passage, in --count units (254 word pieces + [CLS] and [SEP] fill MiniLM's 256).")
@click.option("--overlap", type=click.IntRange(min=0), default=OVERLAP, show_default=True,
              help="Tokens neighbouring passages share (sentences: the last whole sentences that fit).")
@click.option("--count", type=click.Choice(list(COUNT_CHOICES)), default=COUNT_CHOICES[0], show_default=True,
              help="What a token is: the encoder's word pieces, or words (nlpkit's word pattern).")
@click.option("--model", default=None, metavar="DIR|NAME",
              help="The encoder whose word pieces are counted.  [default: the bundled all-MiniLM-L6-v2]")
@stage_options
def chunk(stream, **options):
    """Split each record's text into passages, one record each.

    A passage record has `id` PARENT#K (K from 0), `parent`, its `text`, and `start`/`end`:
    character offsets into the parent's text (parent_text[start:end] is the passage).
    The parent's other fields pass through.

    \b
      nlpkit chunk --max-tokens 128 --overlap 16 docs/ | nlpkit encode | nlpkit index build -o index/
      nlpkit chunk --by sentences --max-tokens 200 corpus.jsonl > passages.jsonl
    """
    run_registered("chunk", options, stream)
