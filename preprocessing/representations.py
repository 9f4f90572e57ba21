"""The representations a dataset can be made of, by name, and how a config builds each one's transform.

| name         | transform class           | rows                  | inverse                          |
|--------------|---------------------------|-----------------------|----------------------------------|
| ``log_stft`` | `LogSpectrogramExtractor` | n_fft // 2 bins, dB   | fast Griffin-Lim                 |
| ``mel``      | `MelSpectrogramExtractor` | n_mels bands, dB      | NNLS or pseudo-inverse, then GL  |
| ``mdct``     | `MdctTransform`           | frame_length // 2     | exact inverse MDCT               |
| ``piano_roll``| `PianoRollTransform`     | pitches (MIDI input)  | MIDI file, rendered by FluidSynth|

Every transform owns both directions and is saved beside the dataset and every
model trained on it (`preprocessing.transform_io`), so the inverse always uses
the forward's parameters.
"""

from common.errors import ParameterError

REPRESENTATIONS = ("log_stft", "mel", "mdct", "piano_roll")
MIDI_REPRESENTATIONS = ("piano_roll",)  # read MIDI files, not audio


def build_transform(config, **changes):
    """The transform a `preprocessing.config.PreprocessConfig` describes.

    Only the keys of the chosen ``config.representation`` are used (see the
    config's docstring); ``changes`` override constructor arguments (e.g. a
    fitted MDCT ``scale``).

    Raises:
        ParameterError: for an unknown representation, or a value its transform refuses
            (the message names the argument).
    """
    name = config.representation
    if name == "log_stft":
        from preprocessing.log_spectrogram import LogSpectrogramExtractor

        cls = LogSpectrogramExtractor
        kwargs = dict(n_fft=config.n_fft, win_length=config.win_length, hop_length=config.hop_length, amin=config.amin)
    elif name == "mel":
        from preprocessing.mel_spectrogram import MelSpectrogramExtractor

        cls = MelSpectrogramExtractor
        kwargs = dict(
            n_fft=config.n_fft, win_length=config.win_length, hop_length=config.hop_length, amin=config.amin,
            n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax, power=config.mel_power, htk=config.htk,
            norm=config.mel_norm, inverse=config.mel_inverse,
        )
    elif name == "mdct":
        from preprocessing.mdct import MdctTransform

        cls = MdctTransform
        kwargs = dict(
            frame_length=config.frame_length, window_type=config.mdct_window, compander=config.compander,
            power_exponent=config.power_exponent, mu=config.mu, scale=config.mdct_scale or 1.0,
        )
    elif name == "piano_roll":
        from preprocessing.piano_roll import PianoRollTransform

        cls = PianoRollTransform
        kwargs = dict(
            frames_per_second=config.frames_per_second, mode=config.roll_mode, min_pitch=config.min_pitch,
            max_pitch=config.max_pitch, program=config.program,
        )
    else:
        raise ParameterError(f"Unknown representation (known: {', '.join(REPRESENTATIONS)}). Received: representation={name!r}")
    kwargs.update(changes)
    return cls(config.sample_rate, **kwargs)


def reads_midi(transform):
    """Whether ``transform`` is made from MIDI (the piano roll): its inverse also writes MIDI files."""
    return hasattr(transform, "extract_midi")


def samples_for(transform, n_frames):
    """Samples of audio that give ``n_frames`` frames (and that the inverse returns by default)."""
    if hasattr(transform, "samples_for"):
        return int(transform.samples_for(n_frames))
    return int(n_frames) * int(transform.hop_length)
