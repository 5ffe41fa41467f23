"""An embedding layer started from pre-trained word vectors: the recurrent classifiers and the language models share it."""

from __future__ import annotations

from nlpkit.training.vocab import PAD_ID, Vocab


def init_embeddings(embedding, vocab: Vocab, keyed_vectors) -> int:
    """Copy pre-trained vectors into the rows of known words; the rest keep a random init of the same scale."""
    import numpy as np
    import torch

    rows, vectors = [], []
    for i, token in enumerate(vocab.itos[2:], start=2):
        for candidate in (token, token.lower()):
            if candidate in keyed_vectors.key_to_index:
                rows.append(i)
                vectors.append(keyed_vectors[candidate])
                break
    with torch.no_grad():
        if vectors:
            found = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
            embedding.weight.normal_(0.0, float(found.std()))
            embedding.weight[rows] = found
        embedding.weight[PAD_ID].zero_()
    return len(rows)
