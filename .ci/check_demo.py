"""What README's main command (bash scripts/demo.sh) must leave behind, checked after CI ran it.

For every model the demo samples: generated and original WAVs that decode, are
finite, not silent and not clipped flat; a comparison PNG that decodes; a
listening page (index.html) with a player and a spectrogram PNG for every WAV; a
report.json with timings. For the score-roll model (sampled, harmonising a test
chorale's soprano, and continuing one) every WAV has its Standard MIDI File
beside it; the continuation, a long-form piece, has its JSON report and its
listening page (``<stem>.html``, with a player) beside it too.
Exits 1 naming every problem, 0 when all hold.
"""

import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from matplotlib import image

# output folder -> the prefixes of its WAVs
RUNS = {"chorales_ddim": ("generated", "original"), "chorales_autoencoder": ("generated", "original"),
        "chorales_latent_ddim": ("generated", "original"), "chorales_score_roll_ddim": ("generated", "original"),
        "chorales_score_roll_harmonised": ("harmonised", "original")}
MIDI_RUNS = ("chorales_score_roll_ddim", "chorales_score_roll_harmonised", "chorales_score_roll_continued")
PIECES = ("chorales_score_roll_continued/continued.wav",)  # long-form outputs: WAV, <stem>.json, <stem>.html
SILENT_DBFS = -60.0  # RMS below this is silence, not music


def midi_problems(out_dir):
    """Problems (strings) of ``out_dir`` (Path): each WAV needs a Standard MIDI File (``MThd``) of its stem beside it."""
    problems = []
    for wav in sorted(out_dir.glob("*.wav")):
        midi = wav.with_suffix(".mid")
        if not midi.is_file() or midi.read_bytes()[:4] != b"MThd":
            problems.append(f"{midi}: missing or not a Standard MIDI File")
        else:
            print(f"ok {midi}: {midi.stat().st_size} bytes")
    return problems


def wav_problems(wav):
    """Problems (strings) of one WAV (Path): it must decode, be finite, have RMS above ``SILENT_DBFS`` and
    fewer than 1 % of its samples at full scale."""
    try:
        audio, sample_rate = sf.read(wav, dtype="float32")
    except Exception as err:  # noqa: BLE001 - any failure to decode is the finding
        return [f"{wav}: unreadable ({type(err).__name__}: {err})"]
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(audio**2)) + 1e-12) if audio.size else -np.inf
    if audio.size == 0 or not np.all(np.isfinite(audio)):
        return [f"{wav}: empty or non-finite"]
    if rms_dbfs < SILENT_DBFS:
        return [f"{wav}: silent ({rms_dbfs:.1f} dBFS RMS)"]
    if np.mean(np.abs(audio) >= 0.999) > 0.01:
        return [f"{wav}: clipped ({100 * np.mean(np.abs(audio) >= 0.999):.1f}% of samples at full scale)"]
    print(f"ok {wav}: {audio.size / sample_rate:.2f} s at {sample_rate} Hz, {rms_dbfs:.1f} dBFS RMS")
    return []


def piece_problems(wav):
    """Problems (strings) of one long-form output ``wav`` (Path): `wav_problems`, a readable ``<stem>.json`` and a
    ``<stem>.html`` page with a player of the WAV."""
    problems = wav_problems(wav)
    try:
        report = json.loads(wav.with_suffix(".json").read_text())
        print(f"ok {wav.with_suffix('.json')}: {report.get('real_time_factor')}x real time")
    except Exception as err:  # noqa: BLE001
        problems.append(f"{wav.with_suffix('.json')}: unreadable ({type(err).__name__}: {err})")
    page = wav.with_suffix(".html")
    if not page.is_file() or f'src="{wav.name}"' not in page.read_text():
        problems.append(f"{page}: missing, or without a player for {wav.name}")
    return problems


def problems_of(out_dir, kinds=("generated", "original")):
    """Problems (strings) of one demo folder ``out_dir`` (Path): its ``<kind>*.wav`` files (decodable, finite, RMS
    above ``SILENT_DBFS``, under 1 % of samples at full scale), ``comparison.png``, ``index.html`` and ``report.json``."""
    problems = []
    for kind in kinds:
        wavs = sorted(out_dir.glob(f"{kind}*.wav"))
        if not wavs:
            problems.append(f"{out_dir}: no {kind}_*.wav")
        for wav in wavs:
            problems += wav_problems(wav)
    png = out_dir / "comparison.png"
    try:
        pixels = image.imread(png)
        print(f"ok {png}: {pixels.shape[1]} x {pixels.shape[0]} px")
    except Exception as err:  # noqa: BLE001 - any failure to decode is the finding
        problems.append(f"{png}: unreadable ({type(err).__name__}: {err})")
    page = out_dir / "index.html"  # the listening page: a player and a spectrogram per WAV
    text = page.read_text() if page.is_file() else ""
    unlinked = [w.name for w in sorted(out_dir.glob("*.wav"))
                if f'src="{w.name}"' not in text or not w.with_suffix(".png").is_file()]
    if not text or unlinked:
        problems.append(f"{page}: missing, or without a player and spectrogram for {', '.join(unlinked)}")
    else:
        print(f"ok {page}: {text.count('<audio')} players")
    try:
        report = json.loads((out_dir / "report.json").read_text())
        print(f"ok {out_dir / 'report.json'}: {report.get('real_time_factor')}x real time")
    except Exception as err:  # noqa: BLE001
        problems.append(f"{out_dir / 'report.json'}: unreadable ({type(err).__name__}: {err})")
    return problems


def main():
    """Check every folder of ``RUNS`` and ``MIDI_RUNS`` and every piece of ``PIECES`` under ``outputs/``; print each
    problem; exit status 1 if any, else 0."""
    problems = [p for run, kinds in RUNS.items() for p in problems_of(Path("outputs") / run, kinds)]
    problems += [p for run in MIDI_RUNS for p in midi_problems(Path("outputs") / run)]
    problems += [p for piece in PIECES for p in piece_problems(Path("outputs") / piece)]
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
