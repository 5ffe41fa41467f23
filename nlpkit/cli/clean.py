import click

from nlpkit.cli._common import run_registered, stage_options


@click.command()
@click.option("--lower/--no-lower", default=True, show_default=True, help="Lowercase.")
@click.option("--html/--no-html", "html_tags", default=True, show_default=True, help="Strip HTML tags, unescape entities (<br /> becomes a space).")
@click.option("--urls/--no-urls", default=True, show_default=True, help="Remove URLs.")
@click.option("--emails/--no-emails", default=True, show_default=True, help="Remove e-mail addresses.")
@click.option("--punct/--no-punct", default=True, show_default=True, help="Remove punctuation (apostrophes inside words are dropped: don't -> dont).")
@click.option("--digits/--no-digits", default=False, show_default=True, help="Remove digits.")
@click.option("--unicode", type=click.Choice(["NFKC", "NFC", "NFKD", "NFD", "none"]), default="NFKC", show_default=True, help="Unicode normalization form.")
@click.option("--whitespace/--no-whitespace", default=True, show_default=True, help="Collapse runs of whitespace to one space.")
@stage_options
def clean(stream, **options):
    """Normalize text: case, HTML, URLs, e-mails, punctuation, digits, Unicode, whitespace.

    \b
      echo 'Great <b>movie</b>! See http://imdb.com' | nlpkit clean --format text
      great movie see
    """
    run_registered("clean", options, stream)
