"""Static listening pages: an audio player and a spectrogram per clip, the run's settings and timings.

``python -m generate.sounds`` (every mode) and ``python -m generate.evaluate`` call the
``write_*_page`` functions below after writing their WAVs. A page is one HTML file beside
the WAVs, with a PNG per clip (`generate.clip_images`) beside it:

* self-contained and offline: no script, no font or style sheet from anywhere (the style is
  inline CSS), every link relative to the page's folder, so the folder opens from the file
  system and can be zipped and sent;
* every text that comes from a run (paths, prompts, labels, set names) is escaped with
  ``html.escape``; the markup is built with ``string.Template``.

`render_page` builds the HTML from plain values and writes nothing; the ``write_*_page``
functions draw the PNGs, render and write the page atomically.
"""

import html
import math
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from common.atomic import atomic_write_text
from common.errors import ParameterError
from generate.clip_images import write_spectrogram_png

PAGE = string.Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 4px; vertical-align: top; }
td.listen { white-space: nowrap; }
td.listen figcaption { white-space: normal; }
figcaption { font-size: 0.85em; }
figure img { display: block; }
audio { display: block; width: 272px; }
figure.piece audio { width: 100%; min-width: 272px; }
p.note { color: #555; font-size: 0.9em; }
</style>
</head>
<body>
<h1>$title</h1>
$body
</body>
</html>
""")

NOTE = ("Spectrograms are of the audio as written (STFT magnitude, dB re full scale, one colour scale for "
        "every image: -90 dB black to 0 dB white); dashed lines mark window joins.")


@dataclass(frozen=True)
class Clip:
    """One player and its spectrogram on a page.

    Attributes:
        wav: the WAV's path relative to the page's folder (POSIX, no ``..``).
        image: the PNG's path relative to the page's folder.
        caption: text under the player (escaped when rendered).
        duration_s: the clip's duration in seconds (shown, and what a browser should report).
        piece: True for a long piece (drawn the page's full width).
    """

    wav: str
    image: str
    caption: str
    duration_s: float
    piece: bool = False


def relative_link(path):
    """``path`` as a relative URL: percent-encoded POSIX path segments.

    Raises:
        ParameterError: for an empty or absolute path, a ``..`` segment, or any colon (a Windows drive,
            a URL scheme).
    """
    from urllib.parse import quote

    text = str(path)
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or ":" in text or ".." in pure.parts or not pure.parts:
        raise ParameterError(f"A page links only to files in its own folder or below. Received: path={text!r}")
    return "/".join(quote(part) for part in pure.parts)


def format_value(value):
    """A setting's value as page text: floats to 4 significant digits, lists joined, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def settings_table(settings):
    """``(name, value)`` pairs as a two-column HTML table (escaped)."""
    rows = "".join(f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(format_value(value))}</td></tr>\n"
                   for name, value in settings)
    return f"<table class=\"settings\">\n{rows}</table>"


def clip_figure(clip):
    """One clip's ``<figure>``: caption, spectrogram image and audio player, links relative."""
    caption = html.escape(f"{clip.caption} ({clip.duration_s:.2f} s)")
    css = ' class="piece"' if clip.piece else ""
    image = html.escape(relative_link(clip.image), quote=True)
    wav = html.escape(relative_link(clip.wav), quote=True)
    return (f"<figure{css}><figcaption>{caption}</figcaption>"
            f"<img src=\"{image}\" alt=\"spectrogram of {caption}\">"
            f"<audio controls preload=\"metadata\" src=\"{wav}\" data-duration=\"{clip.duration_s:.4f}\"></audio>"
            f"</figure>")


def is_number(value):
    """True for an int or float (not a bool), or a string that reads as one (a score formatted already)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def score(value, digits=4):
    """A score as fixed-point text (``digits`` decimals, like `evaluation.compare.format_table`), None as is."""
    return None if value is None else f"{value:.{digits}f}"


def data_table(header, rows, clips_by_row=None):
    """An HTML table: ``header`` strings, ``rows`` of cell values (numbers right-aligned), and an
    optional last column of clip figures per row (``clips_by_row[i]``: a list of `Clip`)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + ("<th>listen</th>" if clips_by_row else "")
    lines = [f"<table>\n<tr>{head}</tr>"]
    for i, row in enumerate(rows):
        cells = "".join(f"<td class=\"number\">{html.escape(format_value(v))}</td>" if is_number(v)
                        else f"<td>{html.escape(format_value(v))}</td>" for v in row)
        if clips_by_row:
            cells += "<td class=\"listen\">" + "".join(clip_figure(c) for c in clips_by_row[i]) + "</td>"
        lines.append(f"<tr>{cells}</tr>")
    return "\n".join(lines) + "\n</table>"


def render_page(title, sections):
    """The page's HTML.

    Args:
        title: the page's title and heading (escaped).
        sections: list of ``(heading, html)``: each heading is escaped, each ``html`` is markup
            made by `settings_table`, `data_table`, `clip_figure` or `paragraph` (inserted as is).
    Returns:
        str, a complete HTML5 document without any script.
    """
    body = "\n".join(f"<h2>{html.escape(heading)}</h2>\n{markup}" for heading, markup in sections)
    body += f"\n<p class=\"note\">{html.escape(NOTE)}</p>"
    return PAGE.substitute(title=html.escape(title), body=body)


def paragraph(text, links=()):
    """A paragraph of escaped ``text`` followed by relative ``links`` (``(label, path)`` pairs)."""
    anchors = " ".join(f"<a href=\"{html.escape(relative_link(path), quote=True)}\">{html.escape(label)}</a>"
                       for label, path in links)
    return f"<p>{html.escape(text)} {anchors}</p>".replace(" </p>", "</p>")


def draw_clip(folder, wav_name, audio, sample_rate, caption, marks_s=(), piece=False):
    """Draw ``audio``'s spectrogram beside its WAV (``<wav stem>.png``) and return its `Clip`.

    Args:
        folder: the page's folder (Path); ``wav_name`` is relative to it and already written.
        audio: float array ``(n_samples,)``, the WAV's samples; sample_rate in Hz.
        marks_s: instants in seconds drawn as dashed lines (window joins).
    """
    image = str(PurePosixPath(wav_name).with_suffix(".png"))
    write_spectrogram_png(Path(folder) / image, audio, sample_rate, marks_s)
    return Clip(wav_name, image, caption, len(audio) / sample_rate, piece)


def write_page(path, title, sections):
    """Render (`render_page`) and write the page atomically; returns ``path`` as a Path."""
    return atomic_write_text(Path(path), render_page(title, sections))


def timing_settings(report):
    """The speed rows of a ``generate.sounds`` report: warm and cold seconds and real-time factors."""
    timing = report.get("timing", {})
    warm, cold = timing.get("warm", {}), timing.get("cold", {})
    return [("audio (s)", report.get("audio_seconds")),
            ("warm: model + inversion (s)", warm.get("seconds")),
            ("warm real-time factor", report.get("real_time_factor")),
            ("cold: load + warm-up + batch (s)", cold.get("seconds")),
            ("cold real-time factor", report.get("cold_real_time_factor"))]


def write_sounds_page(out_dir, report, generated_audio, original_audio, sample_rate):
    """``index.html`` of ``python -m generate.sounds``: each generated clip beside its original.

    Args:
        out_dir: the folder holding ``generated_XX.wav``, ``original_XX.wav``, ``comparison.png``
            and ``report.json``.
        report: the ``report.json`` dict (`generate.sounds.build_report`).
        generated_audio, original_audio: lists of float mono clips ``(n_samples,)``, one per WAV
            (``original_audio`` may be empty: samples without originals).
        sample_rate: Hz.
    Returns:
        The page's Path. Writes ``generated_XX.png`` and ``original_XX.png`` beside the WAVs.
    """
    out_dir = Path(out_dir)
    settings = [("model", report.get("model_dir")), ("kind", report.get("kind")),
                ("sampler", report.get("sampler")), ("steps", report.get("diffusion_steps")),
                ("seeds", report.get("seeds")), ("label", report.get("label")), ("prompt", report.get("prompt")),
                ("guidance scale", report.get("guidance_scale")), ("guidance rescale", report.get("guidance_rescale")),
                ("guidance interval (noise-to-signal ratios)", report.get("guidance_interval")),
                ("static thresholding (clip_sample)", report.get("clip_sample")),
                ("Griffin-Lim iterations", report.get("griffin_lim_iters"))] + timing_settings(report)
    rows, clips = [], []
    for i, generated in enumerate(generated_audio):  # originals: one per clip, or none (sampled without them)
        rows.append([f"clip {i}"])
        clips.append([draw_clip(out_dir, f"generated_{i:02d}.wav", generated, sample_rate, f"generated {i}")]
                     + ([draw_clip(out_dir, f"original_{i:02d}.wav", original_audio[i], sample_rate, f"original {i}")]
                        if i < len(original_audio) else []))
    midi = [(path.name, path.name) for path in sorted(out_dir.glob("*.mid"))]  # a piano-roll model's MIDI files
    sections = [("Settings", settings_table(settings)),
                ("Clips", data_table(["clip"], rows, clips)),
                ("Files", paragraph("All clips on one colour scale, and the full report:",
                                    [("comparison.png", "comparison.png"), ("report.json", "report.json")])
                 + (paragraph("MIDI:", midi) if midi else ""))]
    return write_page(out_dir / "index.html", f"generate.sounds: {Path(str(report.get('model_dir'))).name}", sections)


LONG_FORM_SETTINGS = (("mode", "mode"), ("model", "model_dir"), ("input", "input"), ("input B", "input_b"),
                      ("seed", "seed"), ("seed B", "seed_b"), ("clips", "num"), ("steps", "diffusion_steps"),
                      ("eta", "eta"), ("RePaint resampling", "resample"), ("overlap (frames)", "overlap_frames"),
                      ("windows", "windows"), ("Griffin-Lim iterations", "griffin_lim_iters"),
                      ("fade (beats)", "fade_beats"), ("fade (s)", "fade_s"),
                      ("tempo A, B (BPM)", "tempo_a_bpm"), ("audio (s)", "audio_seconds"),
                      ("wall time (s)", "wall_seconds"), ("real-time factor", "real_time_factor"))


def long_form_settings(report):
    """The settings rows of a long-form report (`generate.long_form_cli`): the keys it has, and the seams."""
    settings = [(name, report[key]) for name, key in LONG_FORM_SETTINGS if key in report]
    if "tempo_a_bpm" in report:
        settings = [(n, [v, report.get("tempo_b_bpm")] if n.startswith("tempo") else v) for n, v in settings]
    if report.get("diffusion_steps") is not None:
        settings.insert(2, ("sampler", "masked DDIM (inpainting), eta as below"))
    seams = report.get("seams")
    if seams:
        settings.append(("seam flux ratio (joins / within)", seams.get("ratio")))
    return settings


def write_piece_page(wav_path, report, audio, sample_rate, marks_s=()):
    """``<wav stem>.html`` beside one long-form WAV (long, continue, inpaint, loop, crossfade).

    Args:
        wav_path: the written WAV (Path); the page and ``<wav stem>.png`` go beside it.
        report: the mode's JSON report dict.
        audio: float mono ``(n_samples,)``, the WAV's samples; sample_rate in Hz.
        marks_s: seconds to mark on the spectrogram: window joins (a crossfade: its fade's ends).
    Returns:
        The page's Path.
    """
    wav_path = Path(wav_path)
    what = "crossfade" if report.get("mode") == "crossfade" else "window joins dashed"
    piece = draw_clip(wav_path.parent, wav_path.name, audio, sample_rate, f"{wav_path.name}, {what}", marks_s, piece=True)
    report_name = wav_path.with_suffix(".json").name
    sections = [("Settings", settings_table(long_form_settings(report))),
                ("Piece", clip_figure(piece)),
                ("Files", paragraph("The full report:", [(report_name, report_name)]))]
    return write_page(wav_path.with_suffix(".html"), f"generate.sounds {report.get('mode', '')}: {wav_path.name}", sections)


def write_harmonisation_page(out_dir, report, harmonised_audio, original_audio, sample_rate):
    """``index.html`` of ``python -m generate.sounds --harmonise``: each harmonisation, and the chorale it
    came from when the melody was a test chorale's soprano.

    Args:
        out_dir: the folder holding ``harmonised_XX.wav`` (and ``original.wav``), the MIDI files,
            ``comparison.png`` and ``report.json`` (`generate.harmonise.run`).
        report: the ``report.json`` dict.
        harmonised_audio: list of float mono ``(n_samples,)``, one per ``harmonised_XX.wav``.
        original_audio: float mono ``(n_samples,)`` of ``original.wav``, or None (a melody file).
        sample_rate: Hz.
    Returns:
        The page's Path. Writes a PNG beside each WAV.
    """
    settings = [("model", report.get("model_dir")), ("melody", report.get("melody")),
                ("seeds", report.get("seeds")), ("steps", report.get("diffusion_steps")),
                ("RePaint resampling", report.get("resample")), ("sampling (s)", report.get("model_seconds")),
                ("rendering (s)", report.get("render_seconds")), ("real-time factor", report.get("real_time_factor"))]
    return write_pieces_page(out_dir, f"generate.sounds --harmonise: {report.get('melody')}", settings,
                             ("harmonised", "harmonisation", harmonised_audio), original_audio, "the chorale (Bach)",
                             sample_rate)


def write_pieces_page(out_dir, title, settings, generated, original_audio, original_caption, sample_rate):
    """``index.html`` of a folder of generated pieces (``<prefix>_XX.wav``), their MIDI files and an original.

    Args:
        out_dir: the folder holding the WAVs, ``*.mid``, ``comparison.png`` and ``report.json``.
        title: str, the page's title; settings: ``(name, value)`` pairs for its settings table.
        generated: ``(prefix, caption, audio)``: the WAVs' name prefix, the caption of piece i
            (``"<caption> i"``) and a list of float mono ``(n_samples,)``, one per WAV.
        original_audio: float mono ``(n_samples,)`` of ``original.wav``, or None; original_caption: its caption.
        sample_rate: Hz.
    Returns:
        The page's Path. Writes a PNG beside each WAV.
    """
    out_dir = Path(out_dir)
    prefix, caption, audio_list = generated
    clips = [draw_clip(out_dir, f"{prefix}_{i:02d}.wav", audio, sample_rate, f"{caption} {i}", piece=True)
             for i, audio in enumerate(audio_list)]
    if original_audio is not None:
        clips.append(draw_clip(out_dir, "original.wav", original_audio, sample_rate, original_caption, piece=True))
    midi = [(path.name, path.name) for path in sorted(out_dir.glob("*.mid"))]
    sections = [("Settings", settings_table(settings)),
                ("Pieces", "".join(clip_figure(clip) for clip in clips)),
                ("Files", paragraph("All pieces' rolls, and the full report with the measures:",
                                    [("comparison.png", "comparison.png"), ("report.json", "report.json")])
                 + paragraph("MIDI:", midi))]
    return write_page(out_dir / "index.html", title, sections)


def write_interpolation_page(out_dir, report, clips, continuous, sample_rate, marks_s=()):
    """``index.html`` of an interpolation folder: every ``interpolation_XX.wav`` and ``continuous.wav``.

    Args:
        out_dir: the folder (Path) holding the WAVs and ``report.json``.
        clips: list of float mono clips, one per ``interpolation_XX.wav``.
        continuous: float mono audio of ``continuous.wav``; marks_s: its window joins in seconds.
    Returns:
        The page's Path.
    """
    out_dir = Path(out_dir)
    figures = [draw_clip(out_dir, f"interpolation_{i:02d}.wav", clip, sample_rate, f"interpolation {i}")
               for i, clip in enumerate(clips)]
    piece = draw_clip(out_dir, "continuous.wav", continuous, sample_rate, "continuous.wav, window joins dashed",
                      marks_s, piece=True)
    sections = [("Settings", settings_table(long_form_settings(report))),
                ("Clips, from A to B", "".join(clip_figure(f) for f in figures)),
                ("Continuous piece", clip_figure(piece)),
                ("Files", paragraph("The full report:", [("report.json", "report.json")]))]
    return write_page(out_dir / "index.html", "generate.sounds interpolate", sections)


def slug(name, taken):
    """A file-name-safe, unique version of a set's name (letters, digits, '_'), added to ``taken``."""
    base = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")[:40] or "set"
    base = "_".join(part for part in base.split("_") if part)
    candidate, k = base, 2
    while candidate in taken:
        candidate, k = f"{base}_{k}", k + 1
    taken.add(candidate)
    return candidate


def write_evaluation_page(out_dir, report, reference_clips, sets, sample_rate, per_row=3):
    """``index.html`` of ``python -m generate.evaluate``: the score table, with a few players per row.

    Writes ``clips/<set>_XX.wav`` and ``.png`` for the first ``per_row`` clips of half A (the
    reference) and of every scored set, in the order of ``report["rows"]``.

    Args:
        out_dir: the evaluation's ``--out`` folder (Path), where ``evaluation.json`` is.
        report: the ``evaluation.json`` dict (`generate.evaluate.run`): ``rows`` of
            `evaluation.compare.score_sets`, one per set.
        reference_clips: half A, float mono clips; sets: the scored `evaluation.compare.AudioSet`
            list, one per row; sample_rate: Hz.
        per_row: int >= 1, players per row.
    Returns:
        The page's Path.
    Raises:
        ParameterError: if ``per_row`` < 1, or ``sets`` and ``report["rows"]`` differ in length.
    """
    from generate.wav_file import write_wav

    if per_row < 1:
        raise ParameterError(f"per_row must be >= 1. Received: per_row={per_row}")
    rows = report["rows"]
    if len(rows) != len(sets):
        raise ParameterError(f"One set per row is needed. Received: len(sets)={len(sets)}, len(rows)={len(rows)}")
    out_dir, taken = Path(out_dir), set()

    def players(name, clips):
        stem = slug(name, taken)
        figures = []
        for i, clip in enumerate(clips[:per_row]):
            wav = f"clips/{stem}_{i:02d}.wav"
            write_wav(out_dir / wav, clip, sample_rate)
            figures.append(draw_clip(out_dir, wav, clip, sample_rate, f"{i}"))
        return figures

    header = ["set", "role", "n", "FAD", "KID", "KID std", "SSIM", "real-time factor"]
    table = [["real, half A (reference)", "reference", len(reference_clips), None, None, None, None, None]]
    clips = [players("reference half A", reference_clips)]
    for row, audio_set in zip(rows, sets):
        table.append([row["name"], row["role"], row["n_candidate"], score(row.get("fad")), score(row.get("kid")),
                      score(row.get("kid_std")), score(row.get("ssim")), row.get("real_time_factor")])
        clips.append(players(row["name"], audio_set.clips))
    settings = [("models", report.get("models")), ("real clips", report.get("real_clips")),
                ("clips per set", report.get("n_per_set")), ("clip (s)", report.get("clip_seconds")),
                ("sample rate (Hz)", report.get("sample_rate")), ("embedding", report.get("embedding")),
                ("seed", report.get("seed")), ("Griffin-Lim iterations", report.get("griffin_lim_iters")),
                ("scoring (s)", report.get("scoring_seconds"))]
    sections = [("Settings", settings_table(settings)),
                ("Scores against half A", paragraph(
                    "Every row is scored against half A (FAD and KID on musicnn embeddings, lower is closer): "
                    "the floor is the other half of the real clips, the ceilings are real clips degraded.")
                 + data_table(header, table, clips)),
                ("Files", paragraph("All rows and timings:", [("evaluation.json", "evaluation.json")]))]
    if (out_dir / "memorisation.png").is_file():  # written by the memorisation check (evaluation.memorisation)
        sections.insert(2, ("Distance to the nearest training clip",
                            '<img src="memorisation.png" alt="memorisation distances">'))
    return write_page(out_dir / "index.html", "generate.evaluate", sections)
