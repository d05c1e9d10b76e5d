"""Compress a fine-tuned model: int8 quantisation, magnitude pruning, low-rank factorisation, layer trimming."""
