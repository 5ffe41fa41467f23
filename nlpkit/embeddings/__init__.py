"""Word embeddings: train (word2vec, GloVe, fastText), load/save vectors, similarity, evaluation, document vectors.

One module per concern; nothing heavy is imported here.
"""
