"""Regenerate bars of a piece with a score-roll DDIM: the chosen bars inpainted, the rest of the piece kept.

Usage:
    python -m generate.sounds --model saved_models/chorales_score_roll_ddim --fill-bars 2 1 --piece test:0
    python -m generate.sounds --model saved_models/chorales_score_roll_ddim --fill-bars 4 2 --piece mine.mid --num 3

``--fill-bars START N`` regenerates bars START .. START + N - 1 (0-based) of ``--piece``: a
MIDI file, all of its parts (taken to start on a bar line), or ``test:N`` / ``test:<piece>``,
a chorale of the test split of the model's data set (`generate.harmonise.test_piece`), whose
bar 0 is its pickup bar when it has one (the data set's clips start on that bar line).
Bars have the length of the file's first time signature (4/4 when it states none): 16
sixteenths in 4/4, 12 in 3/4.

`preprocessing.harmonisation.bar_span_mask` makes every cell outside the bars known and
every cell inside them generated; masked DDIM with RePaint resampling fills them window
by window (`generate.harmonise.inpaint_windows`: each window starts half a window before
the first step not yet generated, so the bars hear two bars of the piece before them and
what the window holds after them; a piece shorter than the window is padded with
generated steps, then cut).

A model trained with key normalisation (C major / A minor) regenerates the bars of the piece
moved into its key (`generate.written_key.given_shift`: a test chorale's key from its
manifest, else music21's key of the piece), and the variants are written moved back
(notes the move puts outside the rows are lost from the kept bars, as notes outside them always are).

Written into ``--out`` (default ``outputs/<model folder name>_bars``): ``original.mid`` and
``original.wav`` (the piece on the model's grid and rows, rendered by the run's transform),
``filled_XX.mid`` and ``filled_XX.wav`` (one per variant, ``--seed + i``), ``comparison.png``
(each variant above the original), ``report.json`` (the span in steps and seconds, seeds,
steps, timings, and `evaluation.harmonisation.span_measures` of each variant) and
``index.html``, the listening page.
"""

import time

import numpy as np

from common.atomic import atomic_write_json
from common.errors import ParameterError
from common.validation import integer
from evaluation.harmonisation import span_measures
from evaluation.symbolic import analyse_key
from generate.harmonise import TEST_PREFIX, check_model, inpaint_windows, inpainting_settings, print_window, test_piece
from generate.listening_page import write_pieces_page
from generate.plots import plot_comparison
from generate.wav_file import write_wav
from generate.written_key import given_shift, written, written_roll
from preprocessing.harmonisation import MAX_MELODY_STEPS, bar_span_mask
from preprocessing.keys import transpose_notes
from preprocessing.note_grid import merge_notes


def choose_piece(source, transform, data_dir=None, option="--piece"):
    """The piece whose bars are regenerated: its notes, name, lead and bar length.

    Args:
        source: str, a MIDI file's path, or ``"test:N"`` / ``"test:<piece>"`` (module docstring).
        transform: the run's `preprocessing.score_roll.ScoreRollTransform`.
        data_dir: the model's data set (for ``test:``).
        option: the CLI option that gave ``source``, for messages.
    Returns:
        ``(voice_notes, name, lead_steps, steps_per_bar)``: the piece's notes per voice of the transform
        (`preprocessing.score_roll.ScoreRollTransform.voice_notes`: a list of int64 ``(n_notes, 3)`` arrays,
        pitch, start step, end step; one, of every part, for a merged roll), a name for messages, the
        silent steps put before the piece so that its first bar line is step 0 (a test chorale's pickup;
        0 for a file), and steps per bar of the first time signature.
    Raises:
        ParameterError: naming the value, for a missing or unparseable MIDI file, a file without notes
            (or without a voice of a voice roll), a piece longer than `MAX_MELODY_STEPS` steps, or an
            unknown test piece.
    """
    source = str(source)
    name, path, lead_s = (source, source, 0.0) if not source.startswith(TEST_PREFIX) else test_piece(
        source, data_dir, option=option)
    voice_notes = transform.voice_notes(path)
    notes = merge_notes(voice_notes)
    key = option.lstrip("-").replace("-", "_")
    if not len(notes):
        raise ParameterError(f"The piece has no notes. Received: {key}={source!r}")
    n_steps = int(notes[:, 2].max())
    if n_steps > MAX_MELODY_STEPS:
        raise ParameterError(f"The piece lasts {n_steps} steps, more than {MAX_MELODY_STEPS}. Received: {key}={source!r}")
    lines = transform.bar_lines(path, max(n_steps, 2 * 4 * transform.steps_per_quarter))
    steps_per_bar = int(lines[1] - lines[0]) if len(lines) > 1 else 4 * transform.steps_per_quarter
    return voice_notes, name, int(round(lead_s / transform.step_s)), steps_per_bar


def fill_bars(model, codec, roll, start_bar, n_bars, steps_per_bar, steps, seeds, resample=1, progress=None):
    """Regenerate bars ``start_bar .. start_bar + n_bars - 1`` of ``roll`` (bar 0 starting at step 0).

    Args:
        model: a `models.diffusion.DiffusionModel` whose data shape is ``(n_pitches, W, C)``, C the
            transform's channels.
        codec: the run's `preprocessing.codec.SpectrogramCodec` (a score-roll transform).
        roll: float32 ``(n_pitches, T, C)``, values 0 or 1: the piece.
        start_bar, n_bars, steps_per_bar: ints (`preprocessing.harmonisation.bar_span_mask`).
        steps: int >= 1, DDIM steps per window; seeds: list of ints, one per variant;
        resample: int >= 1, RePaint's U; progress: optional callable ``(k, n_windows, start_step)``.
    Returns:
        ``(pieces, (start, stop))``: float32 ``(len(seeds), n_pitches, T, C)`` normalised rolls, and the
        regenerated steps [start, stop).
    Raises:
        ParameterError: as `bar_span_mask` (a span outside the roll, or over all of it), naming the value.
    """
    known_values, keep = bar_span_mask(roll, start_bar, n_bars, steps_per_bar)
    generated_steps = np.flatnonzero(keep[0, :, 0] == 0)
    span = (int(generated_steps[0]), int(generated_steps[-1]) + 1)
    done = keep.all(axis=(0, 2))  # the steps outside the bars are kept as they are
    pieces, _ = inpaint_windows(model, codec.normalise(known_values), keep, done, steps, seeds, resample, progress)
    return pieces, span


def run(args, model, load_s):
    """`generate.sounds` with ``--fill-bars``: regenerate, write, measure and report; returns the report dict.

    Args:
        args: `generate.sounds.parse_args`'s namespace (``fill_bars``, ``piece``, ``resample``, ``num``,
            ``steps``, ``seed``, ``out``, ``data``).
        model: the `generate.trained_model.TrainedModel` of ``args.model``; load_s: its load time, seconds.
    Raises:
        ParameterError: as `check_model`, `choose_piece` and `fill_bars`, and without ``--piece``.
    """
    check_model(model, option="--fill-bars")
    if args.piece is None:
        raise ParameterError("--fill-bars needs --piece (a MIDI file, or test:N). Received: piece=None")
    start_bar, n_bars = integer("start_bar", args.fill_bars[0], 0), integer("n_bars", args.fill_bars[1], 1)
    sound_generator = model.sound_generator
    transform = sound_generator.transform
    data_dir = args.data or model.data_dir
    voice_notes, name, lead_steps, steps_per_bar = choose_piece(args.piece, transform, data_dir)
    notes = merge_notes(voice_notes)
    length = lead_steps + int(notes[:, 2].max())
    roll = transform.notes_to_values(voice_notes, length, offset_steps=-lead_steps)
    # a key-normalised model samples in C major / A minor: the piece moved there, the variants moved back
    shift = given_shift(transform, notes, data_dir, name if str(args.piece).startswith(TEST_PREFIX) else None)
    model_roll = roll if not shift else transform.notes_to_values(
        [transpose_notes(part, shift) for part in voice_notes], length, offset_steps=-lead_steps)
    steps, seeds, out_dir = inpainting_settings(args, model, "bars")
    print(f"Regenerating bars {start_bar}-{start_bar + n_bars - 1} of {name} ({steps_per_bar} steps per bar): "
          f"{args.num} variant(s), {steps} steps x resample {args.resample}.", flush=True)
    start = time.monotonic()
    pieces, (span_start, span_stop) = fill_bars(
        model.model, sound_generator.codec, model_roll, start_bar, n_bars, steps_per_bar, steps, seeds, args.resample,
        progress=print_window)
    model_s = time.monotonic() - start
    start = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    transform.write_midi(roll, out_dir / "original.mid")
    original_audio = sound_generator.spectrogram_to_audio(sound_generator.codec.normalise(roll))
    write_wav(out_dir / "original.wav", original_audio, transform.sample_rate)
    values = [sound_generator.codec.denormalise(piece) for piece in pieces]
    audio = sound_generator.generate(list(pieces), seeds=seeds, transpositions=[-shift] * len(pieces))
    for i, piece in enumerate(values):
        transform.write_midi(piece, out_dir / f"filled_{i:02d}.mid", **written(-shift))
        write_wav(out_dir / f"filled_{i:02d}.wav", audio[i], transform.sample_rate)
    render_s = time.monotonic() - start
    plot_comparison([written_roll(transform, v, -shift) for v in values], [roll] * len(values), transform,
                    out_dir / "comparison.png",
                    f"{model.model_dir.name}: bars {start_bar}-{start_bar + n_bars - 1} of {name} regenerated (above the original)")
    original_notes = transform.decode(roll)
    piece_key, _ = analyse_key(original_notes, transform.steps_per_quarter)  # once, for every variant's measures
    report = {"model_dir": str(model.model_dir), "piece": name, "bars": [start_bar, n_bars], "steps_per_bar": steps_per_bar,
              "lead_steps": lead_steps, "transposition": -shift, "span_steps": [span_start, span_stop],
              "span_seconds": [round((span_start - lead_steps) * transform.step_s, 3),
                               round((span_stop - lead_steps) * transform.step_s, 3)],
              "n_steps": length, "seeds": seeds, "diffusion_steps": steps, "resample": args.resample,
              "load_seconds": round(load_s, 3), "model_seconds": round(model_s, 3), "render_seconds": round(render_s, 3),
              "measures": [span_measures(transform.decode(v, **written(-shift)), original_notes, span_start, span_stop,
                                         transform.steps_per_quarter, piece_key) for v in values],
              "original": span_measures(original_notes, original_notes, span_start, span_stop,
                                        transform.steps_per_quarter, piece_key)}
    atomic_write_json(out_dir / "report.json", report)
    settings = [("model", report["model_dir"]), ("piece", name), ("bars regenerated", f"{start_bar} to {start_bar + n_bars - 1}"),
                ("seconds regenerated", report["span_seconds"]), ("seeds", seeds), ("steps", steps),
                ("RePaint resampling", args.resample), ("sampling (s)", report["model_seconds"]),
                ("rendering (s)", report["render_seconds"])]
    write_pieces_page(out_dir, f"generate.sounds --fill-bars: {name}", settings, ("filled", "regenerated bars, variant", audio),
                      original_audio, "the original", transform.sample_rate)
    print(f"Wrote original.mid/.wav, {args.num} x filled_XX.mid/.wav, comparison.png, report.json and index.html "
          f"to {out_dir}/ ({model_s:.1f} s sampling).", flush=True)
    return report
