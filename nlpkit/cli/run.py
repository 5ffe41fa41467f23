import click

from nlpkit.cli._common import run_stage, stage_options


@click.command()
@click.option("-p", "--pipeline", "pipeline_text", metavar='"STAGE [OPTIONS] | STAGE ..."',
              help="The stages, written as the shell pipeline they replace (quote it). Without it, the first INPUT is a PIPELINE.yaml.")
@stage_options
def run(stream, pipeline_text):
    """Run several stages fused into one job: no intermediate files, one pass over the data.

    PIPELINE.yaml (the first INPUT) or --pipeline gives the stages; each takes the
    options of its own command. Locally it is the shell pipeline in one process (use
    --jobs for more); with --executor ray it is one distributed job.

    \b
      nlpkit run --pipeline "clean | tokenize | lemmatize" reviews/ > out.jsonl
      nlpkit run --pipeline "clean | tokenize | lemmatize" --executor ray reviews/ -o out/
      nlpkit run pipeline.yaml reviews/
    """
    import dataclasses

    from nlpkit.cli._pipeline import build_pipeline
    from nlpkit.pipeline import PipelineError, load_pipeline_file, parse_pipeline

    ctx = click.get_current_context()
    if pipeline_text is not None:
        spec = parse_pipeline(pipeline_text)
    else:
        if not stream.inputs:
            raise click.UsageError('name a PIPELINE.yaml, or give the stages with --pipeline "clean | tokenize"')
        spec = load_pipeline_file(stream.inputs[0])
        stream = dataclasses.replace(stream, inputs=stream.inputs[1:])
        stream = _apply_file_options(ctx, stream, spec.options, spec.source, PipelineError)
    pipeline = build_pipeline(spec, field=stream.field)
    run_stage(pipeline, stream, name="run")


def _apply_file_options(ctx, stream, options, source, error):
    """Options from the YAML file, by long name; those given on the command line win."""
    import dataclasses

    from click.core import ParameterSource

    from nlpkit.errors import UsageError
    from nlpkit.params import convert
    from nlpkit.runner import RunOptions, option_names

    aliases = {"format": "output_format"}
    changes = {}
    for key, value in options.items():
        name = aliases.get(key, key)
        if name not in option_names():
            raise error(f"{source}: unknown option {key!r} (known: stages, {', '.join(sorted(option_names()))})")
        if name == "inputs":
            value = [value] if isinstance(value, str) else list(value or [])
            if not stream.inputs:
                changes[name] = tuple(str(v) for v in value)
            continue
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE:
            continue
        try:
            changes[name] = convert(RunOptions, name, value, where=f"{source}: {key}: ")
        except UsageError as e:
            raise error(str(e)) from None
    return dataclasses.replace(stream, **changes)
