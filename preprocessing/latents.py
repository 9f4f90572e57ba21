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
import shutil
import sys
from pathlib import Path

import numpy as np

from common.atomic import atomic_path, atomic_save_npy, atomic_write_json, sync_to_disk
from common.cli import exit_status
from common.errors import ParameterError
from common.json_file import read_json_mapping
from common.keras_file import load_keras_model
from preprocessing.saver import SPLITS, Saver

LATENT_DECODER_FILE = "latent_decoder.keras"
LATENT_FILE = "latent.json"
LATENT_FILES = (LATENT_FILE, LATENT_DECODER_FILE)  # what a latent data set passes on to the runs trained on it


def read_latent_info(folder):
    """``latent.json`` of a latent data set or latent DDIM run folder as a dict; None if the folder has none.

    Raises:
        ParameterError: if the file is there but not a JSON mapping.
    """
    path = Path(folder) / LATENT_FILE
    return read_json_mapping(path, LATENT_FILE) if path.is_file() else None


def load_latent_decoder(folder):
    """The decoder (``keras.Model``, latents -> ``(n, n_freq_bins, n_frames, 1)`` in [0, 1]) of a latent
    data set or latent DDIM run folder; None if the folder has none.

    Raises:
        ParameterError: if the file is there but unreadable or corrupt (it names the file).
    """
    path = Path(folder) / LATENT_DECODER_FILE
    if not path.is_file():
        return None
    return load_keras_model(path, "Latent decoder file")


def load_first_stage(model_dir):
    """The encoder and decoder of a trained spatial autoencoder or VAE run folder.

    Args:
        model_dir: a ``train.autoencoder`` run folder (``autoencoder.keras``, or
            ``vae_encoder.keras`` and ``vae_decoder.keras``).
    Returns:
        ``(kind, encode, decoder)``: ``"autoencoder"`` or ``"vae"``; ``encode(batch)`` maps
        float32 ``(n, n_freq_bins, n_frames, 1)`` in [0, 1] to float32 latents
        ``(n, height, width, channels)`` (the VAE's posterior mean); ``decoder`` the
        ``keras.Model`` that maps latents back to ``(n, n_freq_bins, n_frames, 1)`` in [0, 1].
    Raises:
        ParameterError: if the folder holds no such model, a model file is
            unreadable or corrupt, or its latent is a dense vector (latent
            diffusion needs ``bottleneck: spatial``).
    """
    model_dir = Path(model_dir)
    load = lambda name: load_keras_model(model_dir / name, "First-stage model file")  # noqa: E731
    if (model_dir / "vae_encoder.keras").is_file() and (model_dir / "vae_decoder.keras").is_file():
        kind, encoder, decoder = "vae", load("vae_encoder.keras"), load("vae_decoder.keras")
        encode = lambda batch: np.asarray(encoder(batch, training=False)[0])  # noqa: E731
    elif (model_dir / "autoencoder.keras").is_file():
        autoencoder = load("autoencoder.keras")
        kind, encoder, decoder = "autoencoder", autoencoder.get_layer("encoder"), autoencoder.get_layer("decoder")
        encode = lambda batch: np.asarray(encoder(batch, training=False))  # noqa: E731
    else:
        raise ParameterError(
            "Not a trained autoencoder folder (autoencoder.keras, or vae_encoder.keras and vae_decoder.keras). "
            f"Received: autoencoder={str(model_dir)!r}"
        )
    latent_shape = tuple(decoder.inputs[0].shape[1:])
    if len(latent_shape) != 3:
        raise ParameterError(
            "Latent diffusion needs latent maps: train the autoencoder with bottleneck: spatial. "
            f"Received: autoencoder={str(model_dir)!r} with latent shape {latent_shape}"
        )
    return kind, encode, decoder


def encode_dataset(model_dir, out_dir, data_dir=None, batch_size=16, progress=True):
    """Write the latent data set of the module docstring.

    Args:
        model_dir: the autoencoder run folder (`load_first_stage`).
        out_dir: the folder to write; files already there are replaced.
        data_dir: the source data set (``preprocessing.run`` output); None: the one the
            autoencoder was trained on (its ``config.yaml``'s ``data_dir``).
        batch_size: clips encoded per call.
        progress: print one line per split.
    Returns:
        ``(summary, skipped)``: the dict written to ``latent.json``, and a list of
        ``{"source_path", "reason"}`` rows for clips that could not be encoded.
    Raises:
        ParameterError: for a bad ``model_dir``, a missing source data set, a data set
            whose clips do not fit the encoder, or ``out_dir`` equal to the source.
    """
    import yaml

    from train.data import SpectrogramData

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if data_dir is None:
        config_file = model_dir / "config.yaml"
        data_dir = yaml.safe_load(config_file.read_text()).get("data_dir") if config_file.is_file() else None
        if not data_dir:
            raise ParameterError(f"Give --data-dir: the autoencoder folder names no data_dir. Received: {str(model_dir)!r}")
    data = SpectrogramData(data_dir)
    if data.latent is not None:
        raise ParameterError(f"The source is already a latent data set. Received: data_dir={str(data_dir)!r}")
    if out_dir.resolve() == data.data_dir.resolve():
        raise ParameterError(f"--out must differ from the source data set. Received: out={str(out_dir)!r}")
    kind, encode, decoder = load_first_stage(model_dir)
    input_shape = tuple(decoder.outputs[0].shape[1:])
    if input_shape != data.clip_shape():
        raise ParameterError(
            f"The autoencoder takes clips of {input_shape}; the data set's are {data.clip_shape()}. "
            f"Received: data_dir={str(data_dir)!r}"
        )

    encoded, skipped, latents_seen = {}, [], []  # encoded: manifest position -> the latent's row
    for split in SPLITS:
        positions = [i for i, row in enumerate(data.rows) if row["split"] == split]
        count = len(encoded)
        # one batch of clips in memory at a time
        for start in range(0, len(positions), batch_size):
            kept, clips = [], []
            for i in positions[start : start + batch_size]:
                try:
                    clips.append(data.load_clip(str(data.data_dir / data.rows[i]["path"])))
                    kept.append(i)
                except (ParameterError, OSError, ValueError) as err:
                    skipped.append({"source_path": data.rows[i]["path"], "reason": str(err)})
            if not kept:
                continue
            for i, latent in zip(kept, encode(np.stack(clips))):
                relative = f"latents/{split}/{Path(data.rows[i]['path']).stem}.npy"
                atomic_save_npy(out_dir / relative, latent.astype("float32"), durable=False)
                encoded[i] = {**data.rows[i], "path": relative}
                if len(latents_seen) < 512:
                    latents_seen.append(latent)
        if progress and positions:
            print(f"{split}: {len(encoded) - count} of {len(positions)} clips encoded", flush=True)
    rows = [encoded[i] for i in sorted(encoded)]  # the source manifest's order
    if not rows:
        raise ParameterError(f"No clip could be encoded. Received: data_dir={str(data_dir)!r}")
    sync_to_disk()  # the latents reach the disk before the manifest that lists them
    for name in ("transform.json", "normalisation.json"):
        with atomic_path(out_dir / name) as tmp:
            shutil.copyfile(data.data_dir / name, tmp)
    with atomic_path(out_dir / LATENT_DECODER_FILE) as tmp:
        decoder.save(tmp)
    seen = np.stack(latents_seen)
    summary = {
        # as given (relative to the working directory, like a config's data_dir), so a shipped run stays portable
        "autoencoder": str(model_dir),
        "kind": kind,
        "posterior": "mean" if kind == "vae" else "deterministic",
        "source_data_dir": str(data.data_dir),
        "spectrogram_shape": list(input_shape),
        "latent_shape": [int(d) for d in seen.shape[1:]],
        "latent_mean": float(seen.mean()),
        "latent_std": float(seen.std()),
        "clips": len(rows),
    }
    atomic_write_json(out_dir / LATENT_FILE, summary)
    saver = Saver(out_dir)
    if skipped:
        saver.save_skipped(skipped)
    saver.save_manifest(rows)
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
