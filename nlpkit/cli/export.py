import click


@click.command()
@click.option("--format", "export_format", type=click.Choice(["onnx"]), required=True, help="What to export to.")
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False),
              help="Model directory of a neural kind (bert, lstm, bilstm, gru).")
@click.option("--quantize", type=click.Choice(["int8"]),
              help="Also write onnxruntime's int8 dynamic quantization of the graph (model.int8.onnx).")
def export(export_format, model_dir, quantize):
    """Export a neural model's network for another runtime, into MODEL/onnx/.

    Writes model.onnx (and model.int8.onnx with --quantize int8) and export.json
    (inputs, opset, the sha256 of the weights exported and of each graph), atomically;
    a cut, swapped or edited graph is then refused when it is loaded. `nlpkit predict
    --runtime onnx` and `nlpkit serve --runtime onnx` then run it through onnxruntime.

    \b
      nlpkit export --format onnx --model models/bert --quantize int8
      nlpkit predict --model models/bert --runtime onnx --quantize int8 test.jsonl.gz
    """
    from pathlib import Path

    from nlpkit.models.inference import ONNX_DIR, export_onnx

    info = export_onnx(model_dir, quantize=quantize)
    files = ", ".join(str(Path(model_dir) / ONNX_DIR / name) for name in info["files"])
    click.echo(f"export: {info['kind']} -> {files} (opset {info['opset']}, {info['seconds']:.1f} s)", err=True)
