"""Sequence to sequence, shared by the translation and summarization tasks: encoder-decoder
models that decode step by step, and batched greedy and beam-search decoding."""
