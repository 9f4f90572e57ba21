"""Recipes: data sets made from scratch rather than read from a folder of audio.

- `preprocessing.recipes.chorales`: Bach chorales from music21's corpus,
  rendered to WAV with FluidSynth, with a split and key-analysis manifest
  (command line: ``python -m preprocessing.chorales``).

Nothing is imported here, so that ``import preprocessing.recipes`` stays cheap.
"""
