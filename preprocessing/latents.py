"""Encode a preprocessed data set into an autoencoder's latent maps, for latent diffusion.

Latent diffusion (Rombach et al., "High-Resolution Image Synthesis with Latent
Diffusion Models", CVPR 2022, Sec. 3-4) trains the DDIM on ``z = E(x)``, the
latent of a first-stage autoencoder, and generates ``D(z)`` from sampled ``z``.
This module writes ``E(x)`` for every clip of a ``preprocessing.run`` data set,
so that ``python -m train.diffusion`` trains on the latents unchanged:

    <out>/latents/<split>/<clip>.npy   float32 (height, width, channels), one per clip
    <out>/manifest.csv                 the source manifest's rows, paths pointing at the latents
    <out>/latent.json                  the autoencoder, its kind, the latent shape and statistics
    <out>/latent_decoder.keras         D, latent -> normalised spectrogram in [0, 1]
    <out>/transform.json, normalisation.json   the source's (they describe D's output)
    <out>/skipped.csv                  clips that could not be read, and why (only if any)

The encoder is a trained run of ``python -m train.autoencoder`` with
``bottleneck: spatial``: for the VAE, ``z`` is the posterior mean ``mu`` (a
deterministic encoding; LDM samples the posterior, whose spread a small ``beta``
keeps small); for the deterministic autoencoder, ``z`` is its latent.

Usage:
    python -m preprocessing.latents --autoencoder saved_models/chorales_vae_f8 --out data/chorales_latent

Exit status: 0 every clip encoded, 1 some clips skipped (listed, and in skipped.csv),
2 bad arguments or input.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from common.atomic import sync_to_disk
from common.cli import exit_status
from common.errors import ParameterError
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.manifest import SPLITS


def _trained_on(model_dir):
    """The data set the autoencoder run was trained on: its config's ``data_dir``.

    Raises:
        ParameterError: if the run folder holds no config (or it is unreadable).
    """
    # The one import of a package above this one (tests/test_layers.py lists it): a run folder's
    # config is read by train.run_folder.RunFolder, and --data-dir defaults to the run's data set.
    from train.run_folder import RunFolder

    config = RunFolder(model_dir).config
    if config is None or not config.data_dir:
        raise ParameterError(f"Give --data-dir: the autoencoder folder names no data_dir. Received: {str(model_dir)!r}")
    return config.data_dir


def _encode_split(data, out, split, encode, batch_size, encoded, skipped, latents_seen):
    """Encode one split's clips in batches, writing each latent; fills ``encoded`` (manifest position ->
    the latent's row), ``skipped`` and ``latents_seen`` (up to 512 latents, for the statistics)."""
    positions = [i for i, row in enumerate(data.rows) if row["split"] == split]
    # one batch of clips in memory at a time
    for start in range(0, len(positions), batch_size):
        kept, clips = [], []
        for i in positions[start : start + batch_size]:
            try:
                clips.append(data.load_clip(str(data.clip_path(data.rows[i]["path"]))))
                kept.append(i)
            except (ParameterError, OSError, ValueError) as err:
                skipped.append({"source_path": data.rows[i]["path"], "reason": str(err)})
        if not kept:
            continue
        for i, latent in zip(kept, encode(np.stack(clips))):
            relative = out.write_clip(split, Path(data.rows[i]["path"]).stem, latent, latent=True)
            encoded[i] = {**data.rows[i], "path": relative}
            if len(latents_seen) < 512:
                latents_seen.append(latent)
    return len(positions)


def encode_dataset(model_dir, out_dir, data_dir=None, batch_size=16, progress=True):
    """Write the latent data set of the module docstring.

    Args:
        model_dir: the autoencoder run folder (`models.first_stage.load_first_stage`).
        out_dir: the folder to write; files already there are replaced.
        data_dir: the source data set (``preprocessing.run`` output); None: the one the
            autoencoder was trained on (its config's ``data_dir``).
        batch_size: clips encoded per call.
        progress: print one line per split.
    Returns:
        ``(summary, skipped)``: the dict written to ``latent.json``, and a list of
        ``{"source_path", "reason"}`` rows for clips that could not be encoded.
    Raises:
        ParameterError: for a bad ``model_dir``, a missing source data set, a data set
            whose clips do not fit the encoder, or ``out_dir`` equal to the source.
    """
    from models.first_stage import load_first_stage  # here, not at the top: it imports Keras

    model_dir, out = Path(model_dir), DatasetFolder(out_dir)
    data = DatasetFolder(_trained_on(model_dir) if data_dir is None else data_dir).check()
    if data.latent_info is not None:
        raise ParameterError(f"The source is already a latent data set. Received: data_dir={str(data.path)!r}")
    if out.path.resolve() == data.path.resolve():
        raise ParameterError(f"--out must differ from the source data set. Received: out={str(out_dir)!r}")
    kind, encode, decoder = load_first_stage(model_dir)
    input_shape = tuple(decoder.outputs[0].shape[1:])
    if input_shape != data.clip_shape():
        raise ParameterError(
            f"The autoencoder takes clips of {input_shape}; the data set's are {data.clip_shape()}. "
            f"Received: data_dir={str(data.path)!r}"
        )

    encoded, skipped, latents_seen = {}, [], []  # encoded: manifest position -> the latent's row
    for split in SPLITS:
        count = len(encoded)
        total = _encode_split(data, out, split, encode, batch_size, encoded, skipped, latents_seen)
        if progress and total:
            print(f"{split}: {len(encoded) - count} of {total} clips encoded", flush=True)
    rows = [encoded[i] for i in sorted(encoded)]  # the source manifest's order
    if not rows:
        raise ParameterError(f"No clip could be encoded. Received: data_dir={str(data.path)!r}")
    sync_to_disk()  # the latents reach the disk before the manifest that lists them
    out.copy_codec_from(data)
    out.write_latent_decoder(decoder)
    seen = np.stack(latents_seen)
    summary = {
        # as given (relative to the working directory, like a config's data_dir), so a shipped run stays portable
        "autoencoder": str(model_dir),
        "kind": kind,
        "posterior": "mean" if kind == "vae" else "deterministic",
        "source_data_dir": str(data.path),
        "spectrogram_shape": list(input_shape),
        "latent_shape": [int(d) for d in seen.shape[1:]],
        "latent_mean": float(seen.mean()),
        "latent_std": float(seen.std()),
        "clips": len(rows),
    }
    out.write_latent_info(summary)
    if skipped:
        out.write_skipped(skipped)
    out.write_manifest(rows)
    return summary, skipped


def main(argv=None):
    """CLI entry point; returns the exit status (module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m preprocessing.latents", description=__doc__.split("\n\n")[0])
    parser.add_argument("--autoencoder", required=True, help="trained autoencoder run folder (bottleneck: spatial)")
    parser.add_argument("--out", required=True, help="folder to write the latent data set into")
    parser.add_argument("--data-dir", default=None, help="source data set (default: the autoencoder's data_dir)")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)

    def run():
        if args.batch_size < 1:
            raise ParameterError(f"--batch-size must be >= 1. Received: {args.batch_size}")
        summary, skipped = encode_dataset(args.autoencoder, args.out, args.data_dir, args.batch_size)
        for row in skipped:
            print(f"skipped {row['source_path']}: {row['reason']}", file=sys.stderr)
        print(f"Wrote {summary['clips']} latents {tuple(summary['latent_shape'])} to {args.out} "
              f"(mean {summary['latent_mean']:.3f}, std {summary['latent_std']:.3f}).", flush=True)
        return 1 if skipped else 0

    return exit_status(run)


if __name__ == "__main__":
    sys.exit(main())
