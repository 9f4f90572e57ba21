"""Long pieces and continuations for a score-roll DDIM: outpainted window after window on the bar grid.

Usage:
    python -m generate.sounds long --model saved_models/chorales_score_roll_ddim --duration 60 --out outputs/roll_long.wav
    python -m generate.sounds continue --model saved_models/chorales_score_roll_ddim --input test:3 --prompt-bars 4 --duration 20
    python -m generate.sounds continue --model saved_models/chorales_score_roll_ddim --input mine.mid --duration 20

The model's window is ``W`` steps (64 sixteenths, four 4/4 bars, for the shipped model).
A longer roll is filled left to right with masked DDIM (`generate.harmonise.inpaint_windows`):
each window starts half a window before the first step not yet generated, moved back onto
a bar line, so that every window starts on a bar line as the training clips did and hears
at least two bars before its new steps. The piece is sampled a little longer (less than a
bar), so that the last window starts on a bar line too, and cut afterwards. Notes are joined in the roll (a note held across a
window join is one note), so there is no seam in the audio: the whole piece is decoded to
notes once and rendered once by the run's transform (FluidSynth).

A model trained with key normalisation samples in C major / A minor: ``long`` writes the
piece in ``--key`` (else in a key drawn from the training clips' by ``--seed``), and
``continue`` moves the prompt into the model's key first (a test chorale's key from its
manifest, else music21's key of the prompt's notes) and writes the whole piece moved back,
so the prompt keeps its key (`generate.written_key`; notes the move puts outside the rows
are lost, as notes outside them always are).

``long`` starts from nothing, in 4/4. ``continue`` keeps ``--input`` (a MIDI file, all of its
parts, taken to start on a bar line, or ``test:N`` / ``test:<piece>``, a chorale of the model's
test split: `generate.bar_span.choose_piece`), or only its first ``--prompt-bars`` bars, on
the model's grid and rows, and adds ``--duration`` seconds after it; its bars have the
length of the file's first time signature. A test chorale's pickup is sampled after the
silent rest of its bar, as the data set's clips have it, and written from the pickup on. With ``test:`` and ``--prompt-bars``, the chorale's
own continuation is written beside it for comparison.

Written: ``<out>.wav`` and ``<out>.mid`` (the whole piece), ``<out>.json`` (settings, window plan,
timings, `evaluation.symbolic.measure_set` of the generated part, cut into window-long clips,
and music21's keys of the prompt and of what follows it; the same for the chorale's own
continuation when there is one), ``<out stem>.html`` and
``<out stem>.png`` (the listening page; window joins dashed); with a reference also
``<out stem>_original.wav`` and ``.mid``.
"""

import math
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.errors import ParameterError
from common.validation import integer
from evaluation.harmonisation import notes_in
from evaluation.symbolic import analyse_key, measure_set
from generate import listening_page
from generate.bar_span import choose_piece
from generate.harmonise import TEST_PREFIX, check_model, inpaint_windows
from generate.long_form import DEFAULT_OVERLAP, check_duration, overlap_frames
from generate.wav_file import write_wav
from generate.written_key import given_shift, sample_transpositions, written
from preprocessing.keys import transpose_notes
from preprocessing.note_grid import merge_notes

MODES = ("long", "continue")


def window_grid(steps_per_bar, steps_per_quarter, width):
    """Steps window starts are multiples of: a bar, or a beat when a bar is longer than half a window."""
    return steps_per_bar if steps_per_bar <= width - overlap_frames(width, DEFAULT_OVERLAP) else steps_per_quarter


def outpaint(model, codec, prompt, n_steps, steps, seed, grid, resample=1, progress=None):
    """``prompt`` followed by generated steps up to ``n_steps``, window after window on the bar grid.

    Args:
        model: a `models.diffusion.DiffusionModel` whose data shape is ``(n_pitches, W, C)``, C the
            transform's channels.
        codec: the run's `preprocessing.codec.SpectrogramCodec` (a score-roll transform).
        prompt: float32 ``(n_pitches, P, C)``, values 0 or 1, P >= 0 steps kept as they are
            (its step 0 on a bar line).
        n_steps: int > P, the piece's steps.
        steps: int >= 1, DDIM steps per window; seed: int (window k: `generate.long_form.window_seed`).
        resample: int >= 1, RePaint's resampling rounds per step (Lugmayr et al. 2022).
        grid: int in [1, W / 2], the steps windows start on multiples of (`window_grid`).
        progress: optional callable ``(k, n_windows, start_step)``.
    Returns:
        ``(piece, plan)``: float32 ``(n_pitches, n_steps, C)`` normalised ([0, 1]), and the window plan
        (``(start, first generated step)`` per window).
    Raises:
        ParameterError: if ``n_steps`` is not larger than the prompt, naming both.
    """
    n_pitches, width = int(model.data_shape[0]), int(model.data_shape[1])
    prompt_steps = int(np.shape(prompt)[1])
    if n_steps <= prompt_steps:
        raise ParameterError(f"Nothing to generate: the piece ({n_steps} steps) must be longer than the prompt "
                             f"({prompt_steps} steps). Received: n_steps={n_steps}")
    # sampled up to T >= n_steps with T - W on the grid, so that the last window starts on a bar line too
    padded = width + max(0, int(math.ceil((n_steps - width) / grid)) * grid)
    values = np.zeros((n_pitches, padded, int(np.shape(prompt)[2])), np.float32)
    values[:, :prompt_steps] = prompt
    done = np.arange(padded) < prompt_steps
    keep = np.broadcast_to(done[None, :, None], values.shape)
    pieces, plan = inpaint_windows(model, codec.normalise(values), keep, done, steps, [seed], resample, progress, grid)
    return pieces[0, :, :n_steps], plan


def piece_clips(notes, n_steps, width):
    """``(notes, steps)`` of each whole ``width``-step clip of a piece (`measure_set`'s input), notes cut at the
    clip's ends (`evaluation.harmonisation.notes_in`)."""
    clips = [(notes_in(notes, start, start + width), width) for start in range(0, n_steps - width + 1, width)]
    return clips or [(notes, n_steps)]


def part_measures(transform, roll, prompt_steps, width, transposition=0):
    """What the report says of a roll ``(n_pitches, T, C)`` in 0/1 values whose first ``prompt_steps`` were given,
    its notes moved by ``transposition`` semitones (the key it is written in).

    Returns:
        ``(measures, keys)``: `evaluation.symbolic.measure_set` of the steps after the prompt, cut into
        ``width``-step clips, and music21's keys (`evaluation.symbolic.analyse_key`) of the prompt and of
        those steps, ``{"prompt": name or None, "continuation": name or None}`` (None: no steps or notes).
    """
    prompt, continuation = (transform.decode(roll[:, part], **written(transposition)) if roll[:, part].shape[1]
                            else np.zeros((0, 3), np.int64)
                            for part in (slice(None, prompt_steps), slice(prompt_steps, None)))
    n_steps = roll.shape[1] - prompt_steps
    keys = {name: analyse_key(notes, transform.steps_per_quarter)[0] if len(notes) else None
            for name, notes in (("prompt", prompt), ("continuation", continuation))}
    clips = piece_clips(continuation, n_steps, width)
    return measure_set(clips, transform.steps_per_quarter, transform.tempo_bpm), keys


def load_prompt(args, transform, data_dir):
    """The ``continue`` mode's prompt: ``(roll 0/1 (n_pitches, P, C), full roll or None, name, steps_per_bar, lead_steps,
    shift)``.

    Step 0 of the rolls is a bar line: a test chorale's pickup comes after ``lead_steps`` silent steps
    (`generate.bar_span.choose_piece`), and ``--prompt-bars`` counts whole bars from there. The full
    roll is the test chorale's, when ``--prompt-bars`` cut it (the reference continuation). Both rolls
    are in the model's key: the piece's notes moved by ``shift`` semitones (`generate.written_key.given_shift`;
    0 for a model without key normalisation).

    Raises:
        ParameterError: as `generate.bar_span.choose_piece` (naming ``--input``), and for ``--prompt-bars``
            < 1 or not shorter than the piece.
    """
    voice_notes, name, lead_steps, steps_per_bar = choose_piece(args.input, transform, data_dir, option="--input")
    notes = merge_notes(voice_notes)
    length = lead_steps + int(notes[:, 2].max())
    shift = given_shift(transform, notes, data_dir, name if str(args.input).startswith(TEST_PREFIX) else None)
    full = transform.notes_to_values([transpose_notes(part, shift) for part in voice_notes], length,
                                     offset_steps=-lead_steps)
    if args.prompt_bars is None:
        return full, None, name, steps_per_bar, lead_steps, shift
    bars = integer("prompt_bars", args.prompt_bars, 1)
    if bars * steps_per_bar >= length:
        raise ParameterError(f"--prompt-bars must leave part of the piece ({length} steps, {steps_per_bar} per bar) "
                             f"to continue. Received: prompt_bars={args.prompt_bars}")
    reference = full if str(args.input).startswith(TEST_PREFIX) else None
    return full[:, : bars * steps_per_bar], reference, name, steps_per_bar, lead_steps, shift


def run(args, trained):
    """``long`` or ``continue`` for a score-roll `generate.trained_model.TrainedModel`: sample, write, report.

    Args:
        args: `generate.long_form_cli.parse_args`'s namespace (``mode``, ``duration``, ``input``,
            ``prompt_bars``, ``steps``, ``seed``, ``out``, ``max_duration``).
    Returns:
        The report dict (also written to ``<out>.json``).
    Raises:
        ParameterError: for another mode or model, a bad duration, prompt or ``--prompt-bars``, or ``--eta`` other
            than 0, naming the value.
    """
    if args.mode not in MODES:
        hint = " Regenerate bars with --fill-bars START N --piece FILE." if args.mode == "inpaint" else ""
        raise ParameterError(f"A score-roll model does the modes {', '.join(MODES)}.{hint} Received: mode={args.mode!r}")
    check_model(trained, option=args.mode)
    if args.eta:
        raise ParameterError(f"--eta is for audio models; a score-roll model samples with eta 0. Received: eta={args.eta}")
    model, sound_generator = trained.model, trained.sound_generator
    codec, transform = sound_generator.codec, sound_generator.transform
    width = int(model.data_shape[1])
    duration_s = check_duration(args.duration or (30.0 if args.mode == "long" else 10.0), args.max_duration)
    new_steps = max(1, int(round(duration_s / transform.step_s)))
    if args.mode == "long":
        rows, channels = int(model.data_shape[0]), int(model.data_shape[2])
        prompt, reference, name, lead = np.zeros((rows, 0, channels), np.float32), None, None, 0
        steps_per_bar = 4 * transform.steps_per_quarter  # 4/4
        # the key the piece is written in: --key, else drawn from the training clips' (0 without key normalisation)
        transposition = sample_transpositions(transform, [args.seed], getattr(args, "key", None), trained.data_dir)[0]
    else:
        prompt, reference, name, steps_per_bar, lead, shift = load_prompt(args, transform, trained.data_dir)
        transposition = -shift  # the prompt back in its own key
    prompt_steps = prompt.shape[1]
    n_steps = prompt_steps + new_steps
    steps = args.steps or trained.default_steps()
    out = Path(args.out or Path("outputs") / f"{args.mode}.wav")
    started = time.monotonic()

    def progress(k, count, start):
        print(f"window {k + 1}/{count} (steps {start}-{start + width}), {time.monotonic() - started:.1f} s", flush=True)

    grid = window_grid(steps_per_bar, transform.steps_per_quarter, width)
    piece, plan = outpaint(model, codec, prompt, n_steps, steps, args.seed, grid, args.resample, progress)
    model_s = time.monotonic() - started
    values = codec.denormalise(piece)
    values[:, :prompt_steps] = prompt  # the prompt exactly as given
    out.parent.mkdir(parents=True, exist_ok=True)
    audio = sound_generator.generate([codec.normalise(values[:, lead:])], seeds=[args.seed],  # from the piece's start
                                     transpositions=[transposition])[0]
    write_wav(out, audio, transform.sample_rate)
    transform.write_midi(values[:, lead:], out.with_suffix(".mid"), **written(transposition))
    report = {"mode": args.mode, "model_dir": str(trained.model_dir), "input": name, "seed": args.seed,
              "diffusion_steps": steps, "resample": args.resample, "windows": len(plan), "window_plan": [list(map(int, p)) for p in plan],
              "steps_per_bar": steps_per_bar, "window_grid_steps": grid, "lead_steps": lead,
              "prompt_steps": prompt_steps, "n_steps": n_steps,
              "transposition": transposition}  # semitones the rolls were written with (0: as sampled)
    report["measures"], report["keys"] = part_measures(transform, values, prompt_steps, width, transposition)
    if reference is not None:
        stem = out.with_name(f"{out.stem}_original")
        original = reference[:, :n_steps]
        original_audio = sound_generator.generate([codec.normalise(original[:, lead:])], seeds=[args.seed],
                                                  transpositions=[transposition])[0]
        write_wav(stem.with_suffix(".wav"), original_audio, transform.sample_rate)
        transform.write_midi(original[:, lead:], stem.with_suffix(".mid"), **written(transposition))
        report["original_measures"], report["original_keys"] = part_measures(transform, original, prompt_steps, width,
                                                                             transposition)
    elapsed = time.monotonic() - started
    seconds = len(audio) / transform.sample_rate
    report.update(audio_seconds=round(seconds, 4), model_seconds=round(model_s, 3), wall_seconds=round(elapsed, 3),
                  real_time_factor=round(seconds / elapsed, 3))
    atomic_write_json(out.with_suffix(".json"), report)
    marks = [(first - lead) * transform.step_s for _, first in plan if 0 < first < n_steps]
    page = listening_page.write_piece_page(out, report, audio, transform.sample_rate, marks)
    m = report["measures"]
    keys = "no notes" if m["key_consistent_share"] is None else f"key consistent in {m['key_consistent_share']:.0%}"
    print(f"Wrote {out}, {out.with_suffix('.mid').name} and {page}: {seconds:.2f} s in {elapsed:.1f} s, "
          f"{seconds / elapsed:.2f}x real time; generated part: {m['notes_per_second']['mean']:.2f} notes/s, "
          f"{m['voices_mean']:.2f} voices, {keys} of {m['clips']} clip(s).", flush=True)
    return report
