"""The prepared GPU check: ``python -m nlpkit.bench.gpu.check --pack DIR --out FILE [--dry-run]``.

Reads what ``make gpu-pack`` (scripts/make_gpu_pack.py) prepared, so that the
GPU machine needs no network, no nltk, spaCy, gensim or fastText:

- ``imdb.npz``: each review of train and test as WordPiece ids of the pack's
  MiniLM tokenizer (uint16; head+tail truncation to ``max_len - 2`` ids, Sun et
  al. 2019), with its label;
- ``minilm/``: all-MiniLM-L6-v2 with its weights in bf16 safetensors (loaded
  back to fp32 master weights; training runs under bf16 autocast).

It runs the CUDA checks, then BERT fine-tuned on all 25,000 training reviews
(max_len 256, 2 epochs, bf16 autocast) tested on all 25,000, then the BiLSTM
on the GPU over the same WordPiece tokens (the pack carries no word text: it
would not fit in 64 MiB beside the model), and writes one results JSON:
accuracy, steps/s, peak GPU memory and time per part. ``--dry-run`` runs the
same code on the CPU over a tiny subset (for the test that keeps it working).
"""

from __future__ import annotations

import sys

from nlpkit.bench.gpu.run import Check, load_pack, run_model, subset
from nlpkit.models.bert import BertClassifier


class PretokenizedBert(BertClassifier):
    """The bert kind over ids already tokenized by the pack (records ``{"ids": [...]}``): same model, same loop."""

    def _encode(self, records):
        from nlpkit.training.vocab import truncate  # the kind's own truncation (ids are pre-cut by the pack)

        before, after = self._special_ids()
        budget = self.max_len - len(before) - len(after)
        return [before + truncate(list(r["ids"]), budget, self.truncate) + after for r in records]


def main(argv: list[str] | None = None) -> int:
    check = Check("gpu_check", __doc__.split("\n\n")[0], argv)
    args, device, results = check.args, check.device, check.results
    pack = load_pack(args.pack)
    limit = 64 if args.dry_run else None
    train = subset(*pack["splits"]["train"], limit)
    test = subset(*pack["splits"]["test"], limit)
    check.say(f"device {device}; {len(train[1]):,} train, {len(test[1]):,} test reviews")
    check.cuda_checks()

    max_len = 64 if args.dry_run else pack["max_len"]
    bert = PretokenizedBert(checkpoint=str(args.pack / "minilm"), max_len=max_len, truncate=pack["truncate"],
                            epochs=1 if args.dry_run else 2, batch_size=16 if args.dry_run else 32, lr=5e-5,
                            device=str(device), seed=0)
    results["bert"] = run_model("bert", bert, train, test, device, lambda ids: [{"ids": x} for x in ids])
    check.say(f"bert: accuracy {results['bert']['accuracy']:.4f} in {results['bert']['train_seconds']} s")

    from nlpkit.models.rnn import BiLSTMClassifier

    vocab = (args.pack / "minilm" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    bilstm = BiLSTMClassifier(hidden=128, dim=100, min_count=2, truncate="head+tail", pooling="max",
                              padding="packed", max_len=max_len, epochs=1 if args.dry_run else 4,
                              batch_size=16 if args.dry_run else 128, device=str(device), seed=0)
    results["bilstm"] = run_model("bilstm", bilstm, train, test, device,
                                  lambda ids: [{"tokens": [vocab[i] for i in x]} for x in ids])
    check.say(f"bilstm: accuracy {results['bilstm']['accuracy']:.4f} in {results['bilstm']['train_seconds']} s")

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
