"""What every trained model shares, whatever it models: the training loop, checkpoints, batching, vocabularies.

The classifiers (nlpkit.models), the language models (nlpkit.lm) and the word vectors
(nlpkit.embeddings) all build on these modules, and none of them on another's internals:

- :mod:`nlpkit.training.loop`: the neural training loop (epochs, early stopping, AMP, resume);
- :mod:`nlpkit.training.checkpoint`: model-best/ and model-last/ with the optimizer's state;
- :mod:`nlpkit.training.batching`: length-sorted, padded batches;
- :mod:`nlpkit.training.vocab`: word vocabularies and their JSON files;
- :mod:`nlpkit.training.embeddings`: an embedding layer started from pre-trained word vectors.

The model directory's manifest (``nlpkit.json``) is :mod:`nlpkit.modeldir`.
"""
