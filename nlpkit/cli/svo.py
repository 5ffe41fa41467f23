import click

from nlpkit.cli._common import run_registered, stage_options
from nlpkit.cli._linguistic import spacy_options


@click.command()
@spacy_options
@stage_options
def svo(stream, **options):
    """Add subject-verb-object triples: `svo`, [{subject, verb, object, negated}].

    Uses the record's `deps` when it has them (after `nlpkit parse`, or from a
    treebank), else parses with spaCy. Passive voice is turned active (the
    agent is the subject); conjoined subjects, verbs and objects give one
    triple each.

    \b
      echo 'The mouse was not chased by the cat.' | nlpkit svo
      {"id":"stdin:1",...,"svo":[{"subject":"the cat","verb":"chased","object":"The mouse","negated":true}]}
    """
    run_registered("svo", options, stream)
