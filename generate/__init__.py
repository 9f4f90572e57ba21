"""Generation: spectrograms back to audio, and the sampling CLI."""

from generate.sound_generator import SoundGenerator

__all__ = ["SoundGenerator"]
