"""Harmonise a melody with a score-roll DDIM: the melody kept as the top voice, the voices below it inpainted.

Usage:
    python -m generate.sounds --model saved_models/chorales_score_roll_ddim --harmonise melody.mid
    python -m generate.sounds --model saved_models/chorales_score_roll_ddim --harmonise test:3 --num 2
    python -m generate.sounds --model saved_models/chorales_score_roll_ddim --harmonise bwv10.7.mid --part Soprano

The melody (``--harmonise``) is a MIDI file of one part (``--part`` chooses one of
several by name or index), or ``test:N`` / ``test:<piece>``: the soprano of the N-th
piece (0-based, pieces sorted by name) or of the named piece of the test split of the
model's data set, whose whole chorale is then the reference. Its notes are read on the
model's grid from the file's ticks; it must lie in the model's rows and last at most
`preprocessing.harmonisation.MAX_MELODY_STEPS` steps.

`preprocessing.harmonisation.harmonisation_mask` makes the melody's cells, and every cell
above it, known; the rows below are generated (a model on voice rolls, `score_roll.voices`:
the melody is its first voice, whose channels are known everywhere, and the other voices
are generated; ``test:`` then takes that voice's part as the melody) by masked DDIM with RePaint resampling
(`models.diffusion.DiffusionModel.inpaint`, Lugmayr et al. 2022). A melody longer than
the model's window (64 steps) is harmonised window after window, left to right on the
beat grid, each window starting half a window (2 bars) before the first step not yet
generated, with the steps already generated known (`generate.long_form.window_plan`).
Window ``k`` of variant ``i`` samples with seed `generate.long_form.window_seed`
(``--seed + i``, ``k``). A model trained with key normalisation (C major / A minor)
harmonises the melody moved into its key (`generate.written_key.given_shift`: a test
chorale's key from its manifest, else music21's key of the melody), and everything is
written moved back, so the melody comes out exactly as given; the melody must fit the
model's rows after the move.

Written into ``--out``: ``melody.mid``, ``harmonised_XX.mid`` and ``harmonised_XX.wav``
(the roll decoded and rendered by the run's transform: FluidSynth on its General MIDI
program), with ``test:``: ``original.mid`` and ``original.wav`` (the chorale's roll, the
same rows and steps); ``comparison.png`` (each harmonisation above the chorale, or above
the melody) and ``report.json`` (`evaluation.harmonisation` measures per variant and
their means, seeds, steps, and the seconds of sampling and of writing and rendering,
with their real-time factor: seconds of music per second of both); ``index.html``, the
listening page (`generate.listening_page.write_harmonisation_page`): a player and a
spectrogram for each harmonisation and for the chorale.
"""

import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.errors import ParameterError
from evaluation.harmonisation import mean_measures, measure_harmonisation
from generate.long_form import DEFAULT_OVERLAP, overlap_frames, window_plan, window_seed
from generate.listening_page import write_harmonisation_page
from generate.plots import plot_comparison
from generate.wav_file import write_wav
from generate.written_key import given_shift, written, written_roll
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.harmonisation import MAX_MELODY_STEPS, harmonisation_mask, melody_notes
from preprocessing.keys import transpose_notes
from preprocessing.note_grid import merge_notes

TEST_PREFIX = "test:"
TEST_PART = "Soprano"  # the chorale recipe's name of the melody's part


def pieces_of_test_split(data_dir) -> dict:
    """``{piece name: (source MIDI path, lead in seconds)}`` of the test split of a score-roll data set, sorted by name.

    The lead is how far before the piece's start its first clip starts (``-offset_s``, 0 or more): the
    pipeline starts clips on bar lines, so a piece with a pickup begins with the rest of a bar.

    Raises:
        ParameterError: if the data set's manifest is missing or its test split is empty.
    """
    data = DatasetFolder(data_dir)
    if not data.manifest_path.is_file():
        raise ParameterError(f"--harmonise test:N reads the test split of the model's data set, which is not there; "
                             f"build it or pass --data. Received: data_dir={str(data_dir)!r}")
    pieces = {}
    for row in data.split_rows("test"):
        path, lead_s = pieces.get(row["piece"], (row["source_path"], 0.0))
        pieces[row["piece"]] = (path, max(lead_s, -float(row["offset_s"])))
    if not pieces:
        raise ParameterError(f"The data set has no test clips. Received: data_dir={str(data_dir)!r}")
    return dict(sorted(pieces.items()))


def choose_melody(source, transform, data_dir=None, part=None):
    """The melody to harmonise, and the reference harmonisation when it is a test-split chorale's soprano.

    Args:
        source: str, a MIDI file's path, or ``"test:N"`` / ``"test:<piece>"`` (module docstring).
        transform: the run's `preprocessing.score_roll.ScoreRollTransform` (its grid).
        data_dir: the model's data set (for ``test:``).
        part: the melody's part in a MIDI file (name or index); None: the only part (``test:``: Soprano,
            or a voice roll's first voice).
    Returns:
        ``(melody, reference, name, lead_steps)``: int64 ``(n_notes, 3)`` (pitch, start step, end step), the
        chorale's notes per voice of the transform (`ScoreRollTransform.voice_notes`: a list of such
        arrays, one of every part for a merged roll) or None, a name for messages, and the silent steps
        before the melody that put its bar lines where the model's clips have them (a test chorale's
        pickup; 0 for a file, which is taken to start on a bar line).
    Raises:
        ParameterError: naming the value, for an unparseable or missing MIDI file, a missing
            part, an unknown piece or an index outside the test split.
    """
    source = str(source)
    if not source.startswith(TEST_PREFIX):
        part = int(part) if isinstance(part, str) and part.isdigit() else part
        return melody_notes(source, transform.steps_per_quarter, part), None, source, 0
    key, path, lead_s = test_piece(source, data_dir)
    melody = melody_notes(path, transform.steps_per_quarter, part or (transform.voices or [TEST_PART])[0])
    return melody, transform.voice_notes(path), key, int(round(lead_s / transform.step_s))


def test_piece(source, data_dir, option="--harmonise"):
    """The test-split piece that ``source`` (``"test:N"`` or ``"test:<piece>"``) names.

    Returns:
        ``(name, MIDI path, lead in seconds)`` (`pieces_of_test_split`).
    Raises:
        ParameterError: naming ``source``, for an unknown piece or an index outside the test split,
            and as `pieces_of_test_split`.
    """
    pieces = pieces_of_test_split(data_dir)
    key = source[len(TEST_PREFIX):]
    names = list(pieces)
    if key.isdigit() and int(key) < len(names):
        key = names[int(key)]
    if key not in pieces:
        raise ParameterError(f"{option} test:N takes a piece of the test split, N in [0, {len(names) - 1}] or a name "
                             f"({', '.join(names[:3])}, ...). Received: {option.lstrip('-').replace('-', '_')}={source!r}")
    path, lead_s = pieces[key]
    return key, path, lead_s


def harmonise(model, codec, melody, steps, seeds, resample=1, lead_steps=0, progress=None):
    """Inpaint the voices below ``melody`` with a score-roll DDIM, window after window (module docstring).

    Args:
        model: a `models.diffusion.DiffusionModel` whose data shape is ``(n_pitches, W, C)``, C the
            transform's channels (2; a voice roll's ``2 * n_voices``).
        codec: the run's `preprocessing.codec.SpectrogramCodec` (a `ScoreRollTransform`).
        melody: int array ``(n_notes, 3)``: MIDI pitch, start step, end step, one voice.
        steps: int >= 1, DDIM steps per window; resample: int >= 1, RePaint's U.
        seeds: list of ints, one per variant.
        lead_steps: int >= 0, known silent steps put before the melody while sampling, then cut
            (`choose_melody`: the model's windows start on its bar lines).
        progress: optional callable ``(k, n_windows, start_step)``.
    Returns:
        ``(pieces, known_values)``: float32 ``(len(seeds), n_pitches, T, C)`` normalised ([0, 1])
        rolls, T the melody's end, and the mask's known values ``(n_pitches, T, C)``.
    Raises:
        ParameterError: naming the value, for a melody outside the model's rows, longer than
            `MAX_MELODY_STEPS`, overlapping, or giving a mask that covers nothing or everything.
    """
    transform = codec.transform
    known_values, keep = harmonisation_mask(melody, transform.lowest_pitch, transform.highest_pitch,
                                            max_steps=MAX_MELODY_STEPS, n_voices=transform.n_voices)
    length = known_values.shape[1]
    lead = ((0, 0), (lead_steps, 0), (0, 0))  # known silence, as the data set's first clip of a piece with a pickup
    known_values, keep = np.pad(known_values, lead), np.pad(keep, lead, constant_values=1.0)
    done = np.zeros(known_values.shape[1], bool)  # every step has cells to generate (the rows below the melody)
    pieces, _ = inpaint_windows(model, codec.normalise(known_values), keep, done, steps, seeds, resample, progress)
    cut = slice(lead_steps, lead_steps + length)
    return pieces[:, :, cut], codec.normalise(known_values[:, cut])


def inpaint_windows(model, known_values, keep, done, steps, seeds, resample=1, progress=None, grid=1):
    """Masked DDIM over a roll longer than the model's window: window after window, left to right.

    Each window starts half a window before the first step not yet done, moved left onto a multiple
    of ``grid`` steps (`generate.long_form.window_plan`), and knows the cells of ``keep`` and every step already done; window ``k`` of variant ``i`` samples
    with seed `generate.long_form.window_seed` (``seeds[i]``, ``k``), RePaint resampling ``resample``
    (Lugmayr et al. 2022, via `models.diffusion.DiffusionModel.inpaint`).

    A roll shorter than a window (T < W) is padded to one window with steps to generate, cut after.

    Args:
        model: a `models.diffusion.DiffusionModel` whose data shape is ``(n_pitches, W, C)`` (C channels).
        known_values: float32 ``(n_pitches, T, C)``, normalised: the known cells' values.
        keep: ``(n_pitches, T, C)``, 1 (or True) known, 0 generated.
        done: bool ``(T,)``: steps taken as they are (no window is planned for them).
        steps: int >= 1, DDIM steps per window; seeds: list of ints, one per variant.
        progress: optional callable ``(k, n_windows, start_step)``.
        grid: int >= 1, steps window starts are multiples of (a bar's steps: windows start on bar lines).
    Returns:
        ``(pieces, plan)``: float32 ``(len(seeds), n_pitches, T, C)``, the variants, normalised, and the
        `window_plan` (``(start, first)`` per window).
    Raises:
        ParameterError: for a ``grid`` larger than half a window.
    """
    width, length = int(model.data_shape[1]), int(np.shape(known_values)[1])
    pad = max(width - length, 0)
    known_values = np.pad(np.asarray(known_values, np.float32), ((0, 0), (0, pad), (0, 0)))
    keep, done = np.pad(np.asarray(keep).astype(bool), ((0, 0), (0, pad), (0, 0))), np.pad(np.array(done, dtype=bool), (0, pad))
    pieces = np.repeat(known_values[None], len(seeds), axis=0)
    plan = window_plan(done, width, overlap_frames(width, DEFAULT_OVERLAP), grid)
    for k, (start, _) in enumerate(plan):
        if progress is not None:
            progress(k, len(plan), start)
        window = slice(start, start + width)
        window_keep = keep[:, window] | done[None, window, None]
        filled = model.inpaint(pieces[:, :, window], np.repeat(window_keep[None], len(seeds), axis=0),
                               diffusion_steps=steps, seeds=[window_seed(seed, k) for seed in seeds], resample=resample)
        pieces[:, :, window] = filled
        done[window] = True
    return pieces[:, :, :length], plan


def inpainting_settings(args, model, folder_suffix):
    """``(steps, seeds, out_dir)`` of an inpainting mode of `generate.sounds`: ``--steps`` (else the run's),
    ``--seed + i`` for variant i of ``--num``, and ``--out`` (else ``outputs/<model folder>_<folder_suffix>``)."""
    steps = args.steps or model.default_steps()
    seeds = [args.seed + i for i in range(args.num)]
    return steps, seeds, Path(args.out or Path("outputs") / f"{model.model_dir.name}_{folder_suffix}")


def print_window(k, n_windows, start):
    """The progress line of window ``k`` (0-based) of ``n_windows``, starting at step ``start``."""
    print(f"  window {k + 1}/{n_windows} from step {start}", flush=True)


def write_outputs(out_dir, transform, sound_generator, pieces, known, reference, seeds, transposition=0):
    """Write the module docstring's MIDI and WAV files.

    Args:
        reference: the chorale's notes per voice (`choose_melody`), or None.
        transposition: int, semitones the harmonisations and the melody are written with (minus the
            shift that moved the melody into a key-normalised model's key; 0 otherwise).
    Returns:
        ``(generated_values, originals, audio, original_audio)``: the plot's rolls (the harmonisations'
        in the written key), the harmonisations' audio, and the chorale's (None without a reference).
    """
    sample_rate = transform.sample_rate
    length = pieces.shape[2]
    generated_values = [sound_generator.codec.denormalise(piece) for piece in pieces]
    melody = sound_generator.codec.denormalise(known)
    transform.write_midi(melody, out_dir / "melody.mid", **written(transposition))
    audio = sound_generator.generate(list(pieces), seeds=seeds, transpositions=[transposition] * len(pieces))
    for i, values in enumerate(generated_values):
        transform.write_midi(values, out_dir / f"harmonised_{i:02d}.mid", **written(transposition))
        write_wav(out_dir / f"harmonised_{i:02d}.wav", audio[i], sample_rate)
    generated_values = [written_roll(transform, values, transposition) for values in generated_values]
    if reference is None:
        return generated_values, [written_roll(transform, melody, transposition)] * len(pieces), audio, None
    original = transform.notes_to_values(reference, length)
    transform.write_midi(original, out_dir / "original.mid")
    original_audio = sound_generator.spectrogram_to_audio(sound_generator.codec.normalise(original))
    write_wav(out_dir / "original.wav", original_audio, sample_rate)
    return generated_values, [original] * len(pieces), audio, original_audio


def check_model(model, option="--harmonise"):
    """Raise ParameterError unless ``model`` (a `TrainedModel`) is a DDIM on score rolls (``option``: for the message)."""
    if not model.samples_score_rolls:
        raise ParameterError(f"{option} needs a DDIM trained on score rolls (representation score_roll). "
                             f"Received: model={str(model.model_dir)!r}")


def run(args, model, load_s):
    """`generate.sounds` with ``--harmonise``: harmonise, write, measure and report; returns the report dict.

    Args:
        args: `generate.sounds.parse_args`'s namespace (``harmonise``, ``part``, ``resample``,
            ``num``, ``steps``, ``seed``, ``out``, ``data``).
        model: the `generate.trained_model.TrainedModel` of ``args.model``; load_s: its load time, seconds.
    Raises:
        ParameterError: as `check_model`, `choose_melody` and `harmonise`, and for ``--resample`` < 1.
    """
    check_model(model)
    sound_generator = model.sound_generator
    transform = sound_generator.transform
    data_dir = args.data or model.data_dir
    melody, reference, name, lead_steps = choose_melody(args.harmonise, transform, data_dir, args.part)
    reference_notes = None if reference is None else merge_notes(reference)  # every voice's
    # a key-normalised model harmonises in C major / A minor: the melody moved there, the output moved back
    shift = given_shift(transform, melody if reference is None else reference_notes, data_dir,
                        name if args.harmonise.startswith(TEST_PREFIX) else None)
    steps, seeds, out_dir = inpainting_settings(args, model, "harmonised")
    print(f"Harmonising {name}: {len(melody)} melody notes, {int(melody[:, 2].max())} steps; "
          f"{args.num} variant(s), {steps} steps x resample {args.resample}"
          + (f"; moved {shift:+d} semitones into the model's key and back." if shift else "."), flush=True)
    start = time.monotonic()
    pieces, known = harmonise(model.model, sound_generator.codec, transpose_notes(melody, shift), steps, seeds,
                              args.resample, lead_steps, progress=print_window)
    model_s = time.monotonic() - start
    start = time.monotonic()
    generated_values, originals, audio, original_audio = write_outputs(out_dir, transform, sound_generator, pieces,
                                                                       known, reference, seeds, -shift)
    render_s = time.monotonic() - start
    plot_comparison(generated_values, originals, transform, out_dir / "comparison.png",
                    f"{model.model_dir.name}: {name} harmonised ({'above Bach' if reference is not None else 'above the melody'})")
    length = pieces.shape[2]
    measures = [measure_harmonisation(transform.decode(sound_generator.codec.denormalise(piece), **written(-shift)),
                                      melody, length, transform.steps_per_quarter, reference_notes) for piece in pieces]
    report = {"model_dir": str(model.model_dir), "melody": name, "melody_notes": int(len(melody)), "n_steps": length,
              "transposition": -shift,  # semitones the rolls were written with (the melody moved by minus this to sample)
              "seeds": seeds, "diffusion_steps": steps, "resample": args.resample, "load_seconds": round(load_s, 3),
              "model_seconds": round(model_s, 3), "render_seconds": round(render_s, 3),
              "real_time_factor": round(len(seeds) * length * transform.step_s / (model_s + render_s), 2),
              "measures": measures, "mean": mean_measures(measures)}
    if reference is not None:
        report["reference"] = measure_harmonisation(reference_notes, melody, length, transform.steps_per_quarter)
    atomic_write_json(out_dir / "report.json", report)
    write_harmonisation_page(out_dir, report, audio, original_audio, transform.sample_rate)
    print(f"Wrote melody.mid, {args.num} x harmonised_XX.mid/.wav{', original.mid/.wav' if reference is not None else ''}, "
          f"comparison.png, report.json and index.html to {out_dir}/ ({model_s:.1f} s sampling). Mean: {report['mean']}", flush=True)
    return report
