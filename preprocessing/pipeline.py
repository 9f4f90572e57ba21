"""The preprocessing pipeline: audio (or MIDI) files to fixed-length clips of a representation on disk.

For each source record: load (resample, mono), slice into clips of
``clip_samples`` samples every ``clip_hop_samples``, zero-pad a long enough tail,
drop silent clips, extract the configured representation
(`preprocessing.representations`), save. The piano rolls read the record's
MIDI file instead and slice the roll in frames the same way, dropping clips
without notes; a roll on a metrical grid (the score roll) starts its clips on
bar lines (`PreprocessingPipeline.bar_clip_ranges`), the first at the bar line
at or before the piece's start (zero-padded before a pickup). A key-normalised score roll
(``key_normalisation``) transposes each piece first, by the shift of the key its record
names (the chorales manifest's tonic and mode), else of music21's analysis of its MIDI
(`preprocessing.keys`); the shift is each clip's manifest column ``transposition``, and
the notes it moves out of the rows are counted in the report. Bad files (missing, undecodable, empty, silent, shorter than one
clip) are reported and skipped; the rest are written. The normaliser is then
fitted on the train split, and saved with the train clips' level summary
(each clip's RMS level in dBFS is a manifest column, `preprocessing.loudness`;
a roll data set's is measured on up to 200 of its train clips rendered).
A representation whose section still needs a data set statistic (the MDCT
without a configured ``scale``: `preprocessing.representations.MdctSettings`)
first fits it on up to `FIT_FILES` train files; the fitted value is saved in
the dataset's config.yaml and transform.json.

Every clip carries its file's label and caption (manifest columns ``label``
and ``caption``, for class- and text-conditioned models): the label chosen by
the config's ``label`` (`preprocessing.sources`), the caption from
``captions_file`` when one is given, else composed from the source's metadata
(`preprocessing.captions`).
"""

import concurrent.futures
import dataclasses
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

from common.atomic import sync_to_disk
from common.errors import ParameterError
from preprocessing.captions import read_captions_file
from preprocessing.config import PreprocessConfig
from preprocessing.loader import Loader
from preprocessing.loudness import clip_levels_dbfs
from preprocessing.midi import load_midi
from preprocessing.normaliser import MinMaxNormaliser
from preprocessing.padder import Padder
from preprocessing.pipeline_report import PreprocessReport, RunTally
from preprocessing.representations import build_transform
from preprocessing.saver import Saver
from preprocessing.sources import scan_sources
from preprocessing.transform import MIDI

# clips per STFT call: bounds the complex STFT buffer (~0.8 MB per default clip)
EXTRACT_BATCH_CLIPS = 32
FIT_FILES = 32  # train files a data set statistic of the transform (the MDCT coefficient scale) is fitted on


def _absolute(path) -> str:
    """The absolute, resolved path a manifest records: a data set is used from other working directories."""
    return str(Path(path).resolve())


def _reason(err) -> str:
    # The path is in its own column of skipped.csv; keep the reason short.
    return str(err).split(" Received:")[0].strip()


class PreprocessingPipeline:
    """Turns the configured source into a spectrogram dataset (layout: `preprocessing.dataset_folder`).

    Args:
        config: a `PreprocessConfig`.
    """

    def __init__(self, config: PreprocessConfig):
        if not isinstance(config, PreprocessConfig):
            raise ParameterError(f"config must be a PreprocessConfig. Received: config={type(config).__name__}")
        self.config = config
        self.loader = Loader(config.sample_rate, mono=True, offset_s=config.offset_s, duration_s=config.max_duration_s)
        self.padder = Padder("constant")
        self.transform = build_transform(config)
        self.saver = Saver(config.output_dir)

    def clip_ranges(self, n_items, clip_length, hop):
        """Where the clips of a sequence start, and how much of each is content.

        Args:
            n_items: length of the sequence (samples, or frames of a roll).
            clip_length, hop: clip length and clip hop in the same unit.
        Returns:
            list of (start, n_content): whole clips every ``hop``, then a tail clip
            (to be zero-padded) if it holds at least ``min_tail_fraction * clip_length``.
        """
        ranges = []
        start = 0
        while start + clip_length <= n_items:
            ranges.append((start, clip_length))
            start += hop
        tail = n_items - start
        if start < n_items and tail >= self.config.min_tail_fraction * clip_length and tail > 0:
            ranges.append((start, tail))
        return ranges

    def bar_clip_ranges(self, bars, n_items, clip_length, hop):
        """Where the clips of a roll on a metrical grid start and stop: on bar lines.

        The first clip starts at the last bar line at or before 0 (before 0 for a
        piece with a pickup: the clip is zero-padded there); each next one at the first
        bar line at least ``hop`` after the previous start (after the last bar line, on
        the grid); the last, a tail to be zero-padded, is kept if it holds at least
        ``min_tail_fraction * clip_length``, as in `clip_ranges`.

        Args:
            bars: int array, ascending: the frames where bars start (`Transform.bar_lines`).
            n_items, clip_length, hop: frames of the roll, of a clip, between clip starts.
        Returns:
            list of (start, stop): frames ``[start, stop)`` of the roll, ``start`` maybe < 0.
        """
        bars = np.asarray(bars, np.int64)
        before = bars[bars <= 0]
        start = int(before.max()) if before.size else 0
        ranges = []
        while start + clip_length <= n_items:
            ranges.append((start, start + clip_length))
            later = bars[bars >= start + hop]
            start = int(later[0]) if later.size else start + hop
        tail = n_items - max(start, 0)
        if tail > 0 and tail >= self.config.min_tail_fraction * clip_length:
            ranges.append((start, n_items))
        return ranges

    def slice_clips(self, signal):
        """Cut ``signal`` into fixed-length clips.

        Args:
            signal: float32 array, shape `(n_samples,)`, n_samples >= clip_samples.
        Returns:
            list of (start_sample, n_content_samples, clip) with clip float32 of shape
            `(clip_samples,)`; a tail clip is zero-padded and kept only if it holds
            at least ``min_tail_fraction * clip_samples`` samples of audio.
        """
        clip_samples = self.config.clip_samples
        return [
            (start, n_content, self.padder.pad_to(signal[start : start + n_content], clip_samples))
            for start, n_content in self.clip_ranges(signal.shape[0], clip_samples, self.config.clip_hop_samples)
        ]

    def _row(self, record, clip_id, relative, start_s, duration_s, values, source_path, level_dbfs=None,
             transposition=None):
        # source_path: absolute (`_absolute`); level_dbfs: the clip's RMS level
        # (preprocessing.loudness), None for a piano roll (no audio); transposition: semitones, None
        # when the transform does not normalise keys
        return {
            "clip_id": clip_id,
            "split": record.split,
            "path": relative,
            "source_path": source_path,
            "piece": record.piece,
            "offset_s": round(self.config.offset_s + start_s, 6),
            "duration_s": round(duration_s, 6),
            "min_db": float(values.min()),
            "max_db": float(values.max()),
            "rms_dbfs": "" if level_dbfs is None else round(level_dbfs, 4),
            "label": record.label or "",
            "caption": record.caption or "",
            "transposition": "" if transposition is None else int(transposition),
        }

    def process_midi(self, record):
        """The piano-roll counterpart of `process_file`: the record's MIDI file, sliced in frames.

        Clips start every ``clip_hop_s`` (in frames), or on bar lines when the transform
        knows them (`bar_clip_ranges`, with the record's ``pickup_quarters``); a clip
        before a pickup has a negative ``offset_s`` in the manifest. A key-normalised
        score roll transposes the piece first (module docstring).

        Returns:
            list of manifest rows, as `process_file`.
        Raises:
            ParameterError: if the record has no MIDI file, it cannot be parsed, is
                shorter than one clip, or no clip holds a note.
        """
        return self._midi_clips(record)[0]

    def _transposition(self, record, midi):
        """``(semitones, notes moved out of the rows)`` of a key-normalised score roll's piece; ``(None, 0)`` for
        a transform that does not normalise keys."""
        transform = self.transform
        if not getattr(transform, "key_normalisation", False):
            return None, 0
        notes = transform.notes(midi)
        transposition = transform.transposition_for(notes, record.key)
        return transposition, transform.notes_moved_out(notes, transposition)

    def _midi_clips(self, record):
        """`process_midi`'s rows, and the number of notes the key normalisation moved out of the rows (0 without it)."""
        config, transform = self.config, self.transform
        if record.midi_path is None:
            raise ParameterError(f"no MIDI file for this piece (the piano roll reads MIDI). Received: path={str(record.path)!r}")
        midi = load_midi(record.midi_path)  # ParameterError naming the file if it cannot be parsed
        transposition, moved_out = self._transposition(record, midi)
        # (n_pitches, n_frames of the whole piece[, n_channels])
        roll = transform.extract(midi) if transposition is None else transform.extract(midi, transposition=transposition)
        frame_s = transform.hop_length / config.sample_rate
        first = int(round(config.offset_s / frame_s))
        last = roll.shape[1] if config.max_duration_s is None else first + int(round(config.max_duration_s / frame_s))
        roll = roll[:, first:last]
        clip_frames = config.n_frames
        if roll.shape[1] < clip_frames:
            raise ParameterError(
                f"shorter than one clip: {roll.shape[1] * frame_s:.3f} s < {config.clip_duration_s} s. "
                f"Received: path={str(record.midi_path)!r}"
            )
        hop_frames = max(1, transform.frames_for(config.clip_hop_samples))
        bars = transform.bar_lines(midi, first + roll.shape[1], record.pickup_quarters)
        if bars is None:
            ranges = [(start, start + n) for start, n in self.clip_ranges(roll.shape[1], clip_frames, hop_frames)]
        else:
            ranges = self.bar_clip_ranges(np.asarray(bars) - first, roll.shape[1], clip_frames, hop_frames)
        source_path = _absolute(record.midi_path)
        rows = []
        for start, stop in ranges:
            clip = np.zeros(transform.values_shape(clip_frames), np.float32)
            clip[:, max(start, 0) - start : stop - start] = roll[:, max(start, 0) : stop]
            if not clip.any():
                continue  # no note: nothing to learn
            clip_id = f"{record.clip_prefix}__{len(rows):04d}"
            relative = self.saver.save_spectrogram(record.split, clip_id, clip)
            rows.append(
                self._row(record, clip_id, relative, start * frame_s, (stop - max(start, 0)) * frame_s, clip,
                          source_path, transposition=transposition)
            )
        if not rows:
            raise ParameterError(f"silent: no clip holds a note. Received: path={str(record.midi_path)!r}")
        return rows, moved_out

    def process_file(self, record):
        """Load, slice, extract and save one source file.

        Args:
            record: a `preprocessing.sources.SourceRecord`.
        Returns:
            list of manifest rows (dicts, see `preprocessing.manifest.MANIFEST_COLUMNS`); a row's
            ``rms_dbfs`` is the clip's RMS level in dBFS over its audio content (without a
            tail clip's zero padding, `preprocessing.loudness.clip_levels_dbfs`).
        Raises:
            ParameterError: if the file is missing, undecodable, empty, shorter
                than one clip, or holds no clip above the silence threshold.
        """
        config = self.config
        if self.transform.input_kind == MIDI:
            return self.process_midi(record)
        signal = self.loader.load(record.path)  # (n_samples,)
        if signal.shape[0] < config.clip_samples:
            raise ParameterError(
                f"shorter than one clip: {signal.shape[0] / config.sample_rate:.3f} s "
                f"< {config.clip_duration_s} s. Received: path={str(record.path)!r}"
            )
        # peak in dBFS; a clip quieter than the threshold teaches nothing.
        kept = [
            (start, n_content, clip)
            for start, n_content, clip in self.slice_clips(signal)
            if 20.0 * np.log10(max(float(np.max(np.abs(clip[:n_content]))), 1e-12)) >= config.silence_threshold_db
        ]
        source_path = _absolute(record.path)
        rows = []
        for first in range(0, len(kept), EXTRACT_BATCH_CLIPS):
            chunk = kept[first : first + EXTRACT_BATCH_CLIPS]
            clips = np.stack([clip for _, _, clip in chunk])  # (n, clip_samples), zero-padded
            # one transform call per chunk where the transform can (extract_batch): the same values as clip by clip
            values = self.transform.extract_batch(clips)
            levels = clip_levels_dbfs(clips, [n_content for _, n_content, _ in chunk])
            for (start, n_content, _), clip_values, level in zip(chunk, values, levels):  # (n_freq_bins, n_frames)
                clip_id = f"{record.clip_prefix}__{len(rows):04d}"
                relative = self.saver.save_spectrogram(record.split, clip_id, clip_values)
                rows.append(
                    self._row(
                        record, clip_id, relative, start / config.sample_rate, n_content / config.sample_rate,
                        clip_values, source_path, float(level),
                    )
                )
        if not rows:
            raise ParameterError(
                f"silent: no clip peaks above {config.silence_threshold_db} dBFS. Received: path={str(record.path)!r}"
            )
        return rows

    def _process_safely(self, record):
        """``(rows, reason, notes moved out of the rows)`` of one record: reason None when it gave rows."""
        try:
            if self.transform.input_kind == MIDI:
                rows, moved_out = self._midi_clips(record)
                return rows, None, moved_out
            return self.process_file(record), None, 0
        except ParameterError as err:
            return [], _reason(err), 0
        except Exception as err:  # a decoder's own failure on one file must not end the batch
            return [], f"{type(err).__name__}: {err}" if str(err) else type(err).__name__, 0

    def _fit_settings(self, records):
        """Fit the representation's data set statistics on up to `FIT_FILES` train files; returns the new config."""
        signals = []
        for record in [r for r in records if r.split == "train"][:FIT_FILES]:
            try:
                signals.append(self.loader.load(record.path))
            except ParameterError:
                continue  # reported when the file itself is processed
        if not signals:
            raise ParameterError(
                f"No readable train file to fit the {self.config.representation} transform's statistics on "
                f"(mdct: the coefficient scale); set them in its section. Received: input_dir={self.config.input_dir!r}"
            )
        self.config = self.config.with_settings(self.config.settings.fitted(self.transform, signals))
        self.transform = build_transform(self.config)
        return self.config

    def caption_records(self, records):
        """The records with their captions taken from the config's ``captions_file``.

        Args:
            records: list of `SourceRecord`.
        Returns:
            ``(records, uncaptioned)``: the records unchanged and None when there is
            no captions file; else new records whose ``caption`` is the file's
            caption of ``path`` (or of ``midi_path``), "" for a file it does not
            list, and the number of such files.
        Raises:
            ParameterError: if the captions file is missing or malformed (see
                `preprocessing.captions.read_captions_file`).
        """
        if self.config.captions_file is None:
            return records, None
        captions = read_captions_file(self.config.captions_file, self.config.input_dir)
        captioned, uncaptioned = [], 0
        for record in records:
            caption = captions.caption_for(record.path, record.midi_path)
            uncaptioned += caption is None
            captioned.append(dataclasses.replace(record, caption=caption or ""))
        return captioned, uncaptioned

    def run(self, records=None, progress=True) -> PreprocessReport:
        """Process every record and write the dataset folder.

        Args:
            records: list of `SourceRecord`; None discovers them from the config
                and lists the other files under ``input_dir`` in ``ignored.csv``.
                Either way a configured ``captions_file`` replaces their captions.
            progress: where ``[k/N] file: n clips`` lines go: True for stderr,
                a text stream, or None/False for nowhere.
        Returns:
            A `PreprocessReport`.
        Raises:
            ParameterError: if the source or the captions file cannot be read, or
                no train clip was written (nothing to fit the normaliser on).
        """
        started = time.perf_counter()
        ignored = []
        if records is None:
            records, ignored = self._scan()
        records, uncaptioned = self.caption_records(records)  # before any work: a bad file fails fast
        if self.config.settings.needs_fitting:
            self._fit_settings(records)
        config = self.config
        if progress is True:
            progress = sys.stderr  # looked up now, so redirection after import is honoured
        tally = RunTally.of(records, self._process_all(records, progress))
        if progress:
            tally.print_labels(progress)
            if uncaptioned is not None:
                print(
                    f"captions: {uncaptioned} of {len(records)} files not in {config.captions_file} (empty caption)",
                    file=progress,
                    flush=True,
                )
        normaliser = self._write(tally, ignored, len(records), progress)
        return PreprocessReport(
            output_dir=Path(config.output_dir),
            clips_per_split=tally.clips_per_split,
            files_per_split=tally.files_per_split,
            skipped=tally.skipped,
            normaliser=normaliser,
            wall_s=time.perf_counter() - started,
            clips_per_label=tally.clips_per_label,
            uncaptioned_files=uncaptioned,
            ignored=[(str(p), r) for p, r in ignored],
            notes_moved_out=tally.notes_moved_out,
        )

    def _scan(self):
        """The config's source records and the other files under ``input_dir`` (`preprocessing.sources.scan_sources`)."""
        config = self.config
        return scan_sources(
            config.source,
            config.input_dir,
            config.genres,
            config.validation_fraction,
            config.test_fraction,
            config.split_seed,
            midi=self.transform.input_kind == MIDI,
            label=config.label,
        )

    def _process_all(self, records, progress):
        """``(rows, reason, notes moved out)`` of every record (`_process_safely`), in record order: in this process,
        or in ``num_workers`` processes.

        Prints ``[k/N] file: n clips`` (or ``skipped (reason)``) to ``progress`` as each file is done.
        """
        config = self.config
        results = [None] * len(records)

        def report(k, index):
            rows, reason, moved_out = results[index]
            message = f"{len(rows)} clips" if reason is None else f"skipped ({reason})"
            if reason is None and rows[0]["transposition"] != "":
                message += f", transposed {rows[0]['transposition']:+d} semitones ({moved_out} notes moved out of the rows)"
            if progress:
                print(f"[{k}/{len(records)}] {records[index].path}: {message}", file=progress, flush=True)

        if config.num_workers == 1 or len(records) <= 1:
            for k, record in enumerate(records, start=1):
                results[k - 1] = self._process_safely(record)
                report(k, k - 1)
            return results
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=min(config.num_workers, len(records)),
            mp_context=worker_context(),
            initializer=_init_worker,
            initargs=(config,),
        ) as executor:
            futures = {executor.submit(_process_in_worker, record): i for i, record in enumerate(records)}
            for k, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                results[futures[future]] = future.result()
                report(k, futures[future])
        return results

    def _write(self, tally, ignored, n_records, progress=None):
        """Write the manifest, the file lists, the transform and config, and the fitted normaliser; return it.

        A roll data set has no audio clips to take levels from: up to
        `preprocessing.measure_levels.MAX_ROLL_CLIPS` of its train clips are rendered by its
        transform (FluidSynth) and measured (`measure_roll_levels`), so that its models' samples
        are limited to the level of the real renderings.

        Raises:
            ParameterError: if no train clip was written.
        """
        config = self.config
        sync_to_disk()  # the clips reach the disk before the manifest that lists them
        self.saver.save_manifest(tally.manifest_rows)
        self.saver.save_skipped([{"source_path": p, "reason": r} for p, r in tally.skipped])
        self.saver.save_ignored([{"path": str(p), "reason": r} for p, r in ignored])
        self.saver.save_transform(self.transform)
        self.saver.save_config(config)
        train_rows = [row for row in tally.manifest_rows if row["split"] == "train"]
        if not train_rows:
            raise ParameterError(
                f"No train clip was written, so there is nothing to fit the normaliser on "
                f"({len(tally.skipped)} of {n_records} files skipped). Received: input_dir={config.input_dir!r}"
            )
        normaliser = MinMaxNormaliser.fit([r["min_db"] for r in train_rows], [r["max_db"] for r in train_rows])
        levels = [r["rms_dbfs"] for r in train_rows]
        if self.transform.input_kind == MIDI:
            from preprocessing.measure_levels import measure_roll_levels

            levels = measure_roll_levels(self.saver.folder, train_rows, progress=progress or None).tolist()
        self.saver.save_normaliser(normaliser, clip_levels=levels)
        return normaliser


def worker_context():
    """The multiprocessing context the pipeline's workers start in: the fastest that is safe here.

    * ``fork`` on Linux when this process has not loaded TensorFlow: a worker
      starts in milliseconds with librosa already imported and its numba kernels
      loaded. Spawned workers each spent about 2.5 s importing librosa and scipy,
      which made two workers no faster than one process on the chorales
      (`benchmarks.preprocessing`, docs/BENCHMARKS.md). The parent holds only
      NumPy's BLAS threads here, which survive a fork.
    * ``forkserver`` (POSIX) when TensorFlow is loaded (e.g. the MDCT scale was
      fitted with ``tf.signal``, or a test or notebook imported it): forking a
      process whose TensorFlow runtime has threads can deadlock the child. The
      server is a fresh interpreter that imports this module once and forks the
      workers from there.
    * ``spawn`` elsewhere (Windows).

    Either way, the workers never write numba's cache: the package's import ran
    `common.numba_cache.prepare_numba_cache` first, so the cache is complete.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and "tensorflow" not in sys.modules:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


_WORKER_PIPELINE = None


def _init_worker(config):
    global _WORKER_PIPELINE
    _WORKER_PIPELINE = PreprocessingPipeline(config)


def _process_in_worker(record):
    return _WORKER_PIPELINE._process_safely(record)
