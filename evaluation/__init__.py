"""Evaluation: musicnn embeddings, FAD, KID, spectrogram metrics, reference degradations."""
