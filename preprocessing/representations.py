"""The registry of representations (name -> transform class), and how a config builds each one's transform.

| name         | transform class           | rows                  | inverse                          |
|--------------|---------------------------|-----------------------|----------------------------------|
| ``log_stft`` | `LogSpectrogramExtractor` | n_fft // 2 bins, dB   | fast Griffin-Lim                 |
| ``mel``      | `MelSpectrogramExtractor` | n_mels bands, dB      | NNLS or pseudo-inverse, then GL  |
| ``mdct``     | `MdctTransform`           | frame_length // 2     | exact inverse MDCT               |
| ``piano_roll``| `PianoRollTransform`     | pitches (MIDI input)  | MIDI file, rendered by FluidSynth|

Every transform implements `preprocessing.transform.Transform`, owns both
directions and is saved beside the dataset and every model trained on it
(`preprocessing.transform_io`), so the inverse always uses the forward's
parameters.
"""

import dataclasses

from common.errors import ParameterError
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.mdct import MdctTransform
from preprocessing.mel_spectrogram import MelSpectrogramExtractor
from preprocessing.piano_roll import PianoRollTransform
from preprocessing.transform import MIDI


@dataclasses.dataclass(frozen=True)
class Representation:
    """One registered representation.

    Attributes:
        name: its config name (``representation: <name>``).
        transform: its `preprocessing.transform.Transform` subclass.
    """

    name: str
    transform: type


REPRESENTATIONS = {
    entry.name: entry
    for entry in (
        Representation("log_stft", LogSpectrogramExtractor),
        Representation("mel", MelSpectrogramExtractor),
        Representation("mdct", MdctTransform),
        Representation("piano_roll", PianoRollTransform),
    )
}
MIDI_REPRESENTATIONS = tuple(name for name, entry in REPRESENTATIONS.items() if entry.transform.input_kind == MIDI)


def representation(name) -> Representation:
    """The registered `Representation` called ``name``.

    Raises:
        ParameterError: for a name that is not registered (listing those that are).
    """
    if name not in REPRESENTATIONS:
        raise ParameterError(f"Unknown representation (known: {', '.join(REPRESENTATIONS)}). Received: representation={name!r}")
    return REPRESENTATIONS[name]


def representation_name(transform) -> str:
    """The registered name of ``transform``'s class ("log_stft", ...).

    Raises:
        ParameterError: if its class is not registered.
    """
    for entry in REPRESENTATIONS.values():
        if type(transform) is entry.transform:
            return entry.name
    raise ParameterError(f"The transform's class is not a registered representation. Received: class={type(transform).__name__!r}")


def build_transform(config, **changes):
    """The transform a `preprocessing.config.PreprocessConfig` describes.

    Only the keys of the chosen ``config.representation`` are used (see the
    config's docstring); ``changes`` override constructor arguments (e.g. a
    fitted MDCT ``scale``).

    Raises:
        ParameterError: for an unknown representation, or a value its transform refuses
            (the message names the argument).
    """
    name = representation(config.representation).name
    if name == "log_stft":
        kwargs = dict(n_fft=config.n_fft, win_length=config.win_length, hop_length=config.hop_length, amin=config.amin)
    elif name == "mel":
        kwargs = dict(
            n_fft=config.n_fft, win_length=config.win_length, hop_length=config.hop_length, amin=config.amin,
            n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax, power=config.mel_power, htk=config.htk,
            norm=config.mel_norm, inverse=config.mel_inverse,
        )
    elif name == "mdct":
        kwargs = dict(
            frame_length=config.frame_length, window_type=config.mdct_window, compander=config.compander,
            power_exponent=config.power_exponent, mu=config.mu, scale=config.mdct_scale or 1.0,
        )
    else:
        kwargs = dict(
            frames_per_second=config.frames_per_second, mode=config.roll_mode, min_pitch=config.min_pitch,
            max_pitch=config.max_pitch, program=config.program,
        )
    kwargs.update(changes)
    return REPRESENTATIONS[name].transform(config.sample_rate, **kwargs)
