import click

from nlpkit.cli._common import run_registered, stage_options


@click.command()
@click.option("--algorithm", type=click.Choice(["porter", "snowball", "lancaster"]), default="porter", show_default=True)
@click.option("--porter-mode", type=click.Choice(["nltk", "original", "martin"]), default="nltk", show_default=True, help="NLTK's Porter variants: NLTK extensions, the original 1980 algorithm, Martin's extensions.")
@click.option("--lang", default="english", show_default=True, help="Language for Snowball.")
@stage_options
def stem(stream, **options):
    """Stem `tokens` (or the whitespace-split text).

    \b
      echo "running cats" | nlpkit stem --format text
      run cat
    """
    run_registered("stem", options, stream)
