"""Language models: P(w_t | w_<t) with an LSTM or a small causal transformer, perplexity, decoding.

- ``tokenizer.py``: a word vocabulary, or the bundled WordPiece vocabulary (all-MiniLM-L6-v2's).
- ``modules.py``: the torch modules: an AWD-LSTM-style LSTM, a decoder-only GPT, the output
  layer (a full softmax or ``AdaptiveLogSoftmaxWithLoss``).
- ``model.py``: :class:`~nlpkit.lm.model.LanguageModel`, trained through the loop every torch
  model shares (``nlpkit/training/loop.py``), its directory, perplexity.
- ``decoding.py``: greedy, sampling (temperature, top-k, top-p) and beam search.
- ``stages.py``: the record stages behind ``nlpkit lm generate`` and ``lm perplexity --per-record``.

Nothing heavy is imported here.
"""
