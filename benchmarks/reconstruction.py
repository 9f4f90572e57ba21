"""How much each representation's inverse loses on real music: audio -> transform -> inverse, no model.

Usage:
    python -m benchmarks.reconstruction                              # 3 chorales, 10 s each, every representation
    python -m benchmarks.reconstruction --input my/music --files 5 --only log_stft mdct
    python -m benchmarks.reconstruction --riffusion --files 2 --seconds 5.12   # Riffusion images, GL before/after

For each audio file (the first ``--seconds`` of ``--files`` files under
``--input``), every representation in `CASES` extracts and inverts the audio;
the table gives, averaged over files:

* SNR in dB of the waveform (only where the inverse keeps phase: MDCT);
* spectral convergence ``|| |S| - |S_hat| ||_F / || |S| ||_F`` (Sturmel and
  Daudet 2011; lower is better, phase-blind) in the representation's own
  domain (its own transform of original and reconstruction; dB values are
  turned back into amplitudes first), the figure Griffin-Lim papers quote;
* spectral convergence and log-spectral distance (RMS of the dB difference)
  on one common analysis of original and reconstruction, which compares the
  representations with each other: a log-STFT with n_fft 1024, hop 256 (floor
  -80 dB);
* seconds for forward plus inverse, per 10 s of audio.

The piano roll's row compares the audio rendered from a file's MIDI roll with
the same file's audio (for the chorales, rendered from the same MIDI); it needs
``<name>.mid`` in ``--midi`` (default: ``midi/`` beside ``--input``).

``--riffusion`` instead sends each clip (at 44.1 kHz) through Riffusion's preset
and an 8-bit PNG (`preprocessing.spectrogram_image`) and back with 32 Griffin-Lim
iterations (seed 0), once with `RIFFUSION_FULL_GRID` (the preset's inverse before
issue 17: NNLS 200 steps, Griffin-Lim at n_fft 17640) and once with the preset as
it is (`riffusion_transform`: NNLS 20, coarse-to-fine Griffin-Lim); it prints the
seconds of the inverse (mel to STFT and Griffin-Lim, not the PNG reading; the
filterbank is built before timing) and the spectral convergence in the preset's
own domain, ``||V - V_hat||_F / ||V||_F`` with V the linear mel spectrogram of the
clip and V_hat that of the reconstruction.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common.errors import ParameterError
from preprocessing.loader import Loader
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.mdct import MdctTransform
from preprocessing.mel_spectrogram import MelSpectrogramExtractor
from preprocessing.piano_roll import PianoRollTransform
from preprocessing.sources import AUDIO_EXTENSIONS
from preprocessing.spectrogram_image import load_png, riffusion_transform, save_png
from preprocessing.transform import MIDI

# (representation, parameters shown, transform factory taking the sample rate, Griffin-Lim iterations or None)
CASES = [
    ("log_stft", "n_fft 1024, hop 256, GL 32", lambda sr: LogSpectrogramExtractor(sr, 1024, hop_length=256), 32),
    ("log_stft", "n_fft 1024, hop 256, GL 100", lambda sr: LogSpectrogramExtractor(sr, 1024, hop_length=256), 100),
    ("log_stft", "n_fft 512, hop 256, GL 100", lambda sr: LogSpectrogramExtractor(sr, 512, hop_length=256), 100),
    ("mel", "64 bands, NNLS, GL 32", lambda sr: MelSpectrogramExtractor(sr, 1024, hop_length=256, n_mels=64), 32),
    ("mel", "128 bands, NNLS, GL 32", lambda sr: MelSpectrogramExtractor(sr, 1024, hop_length=256, n_mels=128), 32),
    ("mel", "128 bands, pinv, GL 32",
     lambda sr: MelSpectrogramExtractor(sr, 1024, hop_length=256, n_mels=128, inverse="pinv"), 32),
    ("mel", "256 bands, NNLS, GL 100", lambda sr: MelSpectrogramExtractor(sr, 1024, hop_length=256, n_mels=256), 100),
    ("mdct", "frame 512, vorbis, power 0.5", lambda sr: MdctTransform(sr, 512), None),
    ("mdct", "frame 1024, vorbis, power 0.5", lambda sr: MdctTransform(sr, 1024), None),
    ("mdct", "frame 2048, KBD, mu-law 255",
     lambda sr: MdctTransform(sr, 2048, window_type="kaiser_bessel_derived", compander="mu_law"), None),
    ("piano_roll", "62.5 frames/s, velocity, organ", lambda sr: PianoRollTransform(sr, frames_per_second=62.5), None),
]


def spectral_convergence(reference_db, estimate_db):
    """``|| |S| - |S_hat| ||_F / || |S| ||_F`` from two dB magnitude spectrograms of equal shape."""
    reference, estimate = 10.0 ** (reference_db / 20.0), 10.0 ** (estimate_db / 20.0)
    return float(np.linalg.norm(reference - estimate) / np.linalg.norm(reference))


def log_spectral_distance(reference_db, estimate_db):
    """RMS of the dB difference over all bins and frames, in dB."""
    return float(np.sqrt(np.mean((reference_db - estimate_db) ** 2)))


def snr_db(reference, estimate):
    """``10 log10(sum x^2 / sum (x - x_hat)^2)`` in dB (waveforms of equal length)."""
    return float(10.0 * np.log10(np.sum(reference**2) / max(float(np.sum((reference - estimate) ** 2)), 1e-30)))


def _fit(audio, n_samples):
    audio = np.asarray(audio, dtype=np.float32)[:n_samples]
    return np.pad(audio, (0, n_samples - audio.shape[0]))


def reconstruct(transform, audio, n_iter, midi_path=None):
    """``(reconstruction of len(audio) samples, seconds)`` through ``transform`` and back.

    Raises:
        ParameterError: for a piano roll without ``midi_path``.
    """
    start = time.perf_counter()
    if transform.input_kind == MIDI:
        if midi_path is None:
            raise ParameterError("The piano roll is made from MIDI; no MIDI file was found. Received: midi_path=None")
        values = transform.extract_midi(midi_path, n_frames=transform.frames_for(len(audio)))
        estimate = transform.invert(values, length=len(audio))
    else:
        values = transform.extract(audio)
        estimate = transform.invert(values, n_iter=n_iter, random_state=0) if n_iter else transform.invert(values)
    return _fit(estimate, len(audio)), time.perf_counter() - start


def measure(audio_files, midi_files, sample_rate, seconds, cases):
    """One row per case: dicts with representation, parameters, snr_db (or None), sc_own (or None), sc, lsd_db, s_per_10s."""
    loader = Loader(sample_rate, duration_s=seconds)
    clips = [loader.load(path) for path in audio_files]
    analysis = LogSpectrogramExtractor(sample_rate, 1024, hop_length=256)
    rows = []
    for name, parameters, factory, n_iter in cases:
        transform = factory(sample_rate)
        if name == "piano_roll" and any(m is None for m in midi_files):
            continue
        reconstruct(transform, clips[0], n_iter, midi_files[0])  # warm-up, not timed: imports, filterbanks
        snrs, own, convergences, distances, total_s = [], [], [], [], 0.0
        for clip, midi_path in zip(clips, midi_files):
            estimate, took = reconstruct(transform, clip, n_iter, midi_path)
            total_s += took
            reference_db, estimate_db = analysis.extract(clip), analysis.extract(estimate)
            snrs.append(snr_db(clip, estimate))
            if name != "piano_roll":
                own_reference, own_estimate = transform.extract(clip), transform.extract(estimate)
                if name == "mdct":  # signed companded coefficients: compare magnitudes, in dB for the helper
                    own_reference, own_estimate = (20 * np.log10(np.abs(v) + 1e-12) for v in (own_reference, own_estimate))
                own.append(spectral_convergence(own_reference, own_estimate))
            convergences.append(spectral_convergence(reference_db, estimate_db))
            distances.append(log_spectral_distance(reference_db, estimate_db))
        audio_s = sum(len(c) for c in clips) / sample_rate
        rows.append({
            "representation": name, "parameters": parameters,
            "snr_db": float(np.mean(snrs)) if name == "mdct" else None,
            "sc_own": float(np.mean(own)) if own else None,
            "sc": float(np.mean(convergences)), "lsd_db": float(np.mean(distances)),
            "s_per_10s": total_s / audio_s * 10.0,
        })
    return rows


# the Riffusion preset's inverse as it was before issue 17 (full-grid Griffin-Lim, 200 NNLS steps)
RIFFUSION_FULL_GRID = {"nnls_iterations": 200, "griffin_lim": "full"}


def measure_riffusion(audio_files, seconds, n_iter=32):
    """Rows of (case, file, seconds of the inverse, spectral convergence) for Riffusion's preset through 8-bit PNGs."""
    after = riffusion_transform()
    before = MelSpectrogramExtractor(**{**after.get_config(), **RIFFUSION_FULL_GRID})
    loader = Loader(after.sample_rate, duration_s=seconds or None)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for path in audio_files:
            clip = loader.load(path)
            reference = after.extract(clip)  # (512, n_frames), the same forward for both cases
            image = save_png(reference, Path(folder) / "clip.png", scaling="power", n_samples=len(clip))
            values, _metadata = load_png(image)
            for case, transform in (("before: full grid, NNLS 200", before), ("after: coarse-to-fine, NNLS 20", after)):
                transform.stft_magnitude(values[:, :1])  # builds the filterbank and its solver, not timed
                start = time.perf_counter()
                estimate = transform.invert(values, length=len(clip), n_iter=n_iter, random_state=0)
                took = time.perf_counter() - start
                convergence = np.linalg.norm(transform.extract(estimate) - reference) / np.linalg.norm(reference)
                rows.append({"case": case, "file": f"{Path(path).name} ({len(clip) / after.sample_rate:.2f} s)",
                             "seconds": took, "sc": float(convergence)})
    return rows


def format_table(rows):
    """The rows of `measure` as a Markdown table."""
    lines = ["| representation | parameters | SNR dB (phase kept) | spectral convergence, own domain | "
             "spectral convergence, common STFT | LSD dB, common STFT | s per 10 s |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        snr = "-" if row["snr_db"] is None else f"{row['snr_db']:.1f}"
        own = "-" if row["sc_own"] is None else f"{row['sc_own']:.4f}"
        lines.append(f"| {row['representation']} | {row['parameters']} | {snr} | {own} | {row['sc']:.4f} | "
                     f"{row['lsd_db']:.2f} | {row['s_per_10s']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    """CLI entry point; prints the table and returns 0 (2 for bad input)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", default="data/chorales/wav", help="folder of audio files")
    parser.add_argument("--midi", default=None, help="folder of <name>.mid for the piano roll (default: ../midi)")
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--only", nargs="+", default=None, help="representations to run (default: all)")
    parser.add_argument("--riffusion", action="store_true",
                        help="time Riffusion's preset inverse before and after issue 17 instead (--seconds 0: whole files)")
    args = parser.parse_args(argv)

    folder = Path(args.input)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)[: args.files]
    if not files:
        print(f"error: no audio files under {folder}")
        return 2
    if args.riffusion:
        print("| case | clip | seconds of the inverse | spectral convergence (mel, own domain) |\n|---|---|---|---|")
        for row in measure_riffusion(files, args.seconds):
            print(f"| {row['case']} | {row['file']} | {row['seconds']:.2f} | {row['sc']:.4f} |")
        return 0
    midi_dir = Path(args.midi) if args.midi else folder.parent / "midi"
    midi_files = [midi_dir / f"{p.stem}.mid" if (midi_dir / f"{p.stem}.mid").is_file() else None for p in files]
    cases = [case for case in CASES if args.only is None or case[0] in args.only]
    rows = measure(files, midi_files, args.sample_rate, args.seconds, cases)
    print(f"{len(files)} files under {folder}, first {args.seconds:g} s of each at {args.sample_rate} Hz "
          f"({', '.join(p.name for p in files)})")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
