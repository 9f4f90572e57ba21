"""What a preprocessing run wrote: the per-split and per-label counts of its files and clips, and its report."""

import dataclasses
from pathlib import Path

from preprocessing.manifest import SPLITS
from preprocessing.normaliser import MinMaxNormaliser


@dataclasses.dataclass
class PreprocessReport:
    """What a run wrote.

    Attributes:
        output_dir: the dataset folder.
        clips_per_split: split -> number of clips written.
        files_per_split: split -> number of source files that gave clips.
        skipped: list of (source_path, reason) for files not used.
        normaliser: the `MinMaxNormaliser` fitted on the train split.
        wall_s: seconds the run took.
        clips_per_label: label ("" for none) -> split -> number of clips written.
        uncaptioned_files: with a captions file, the number of source files it
            does not list (their clips get an empty caption); None without one.
        ignored: list of (path, reason) for the files under ``input_dir`` that
            were not taken as inputs (not audio, hidden; see
            `preprocessing.sources.ignored_files`); empty when the records were
            given or the source is the chorales manifest.
        notes_moved_out: notes a key-normalised score roll's transposition moved out of its
            rows (dropped), over every file that gave clips; 0 without key normalisation.
    """

    output_dir: Path
    clips_per_split: dict
    files_per_split: dict
    skipped: list
    normaliser: MinMaxNormaliser
    wall_s: float
    clips_per_label: dict = dataclasses.field(default_factory=dict)
    uncaptioned_files: int | None = None
    ignored: list = dataclasses.field(default_factory=list)
    notes_moved_out: int = 0


@dataclasses.dataclass
class RunTally:
    """The processed files' results, gathered: the manifest rows, the skipped files and the counts.

    Attributes:
        manifest_rows: every clip's manifest row, in record order.
        skipped: list of (source_path, reason) for the files that gave no clip.
        clips_per_split: split -> number of clips.
        files_per_split: split -> number of files that gave clips.
        clips_per_label: label ("" for none) -> split -> number of clips.
        notes_moved_out: notes the key normalisation moved out of the rows, in the files that gave clips.
    """

    manifest_rows: list
    skipped: list
    clips_per_split: dict
    files_per_split: dict
    clips_per_label: dict
    notes_moved_out: int = 0

    @classmethod
    def of(cls, records, results):
        """Gather ``results`` (``(rows, reason, notes moved out)`` per record, reason None when it gave rows) of ``records``."""
        tally = cls([], [], dict.fromkeys(SPLITS, 0), dict.fromkeys(SPLITS, 0), {})
        for record, (rows, reason, moved_out) in zip(records, results):
            if reason is not None:
                tally.skipped.append((str(record.path), reason))
                continue
            tally.manifest_rows.extend(rows)
            tally.notes_moved_out += moved_out
            tally.clips_per_split[record.split] += len(rows)
            tally.files_per_split[record.split] += 1
            per_split = tally.clips_per_label.setdefault(record.label or "", dict.fromkeys(SPLITS, 0))
            per_split[record.split] += len(rows)
        return tally

    def print_labels(self, stream):
        """One line per label (sorted): its clips in each split."""
        for label, per_split in sorted(self.clips_per_label.items()):
            counts = ", ".join(f"{split} {n}" for split, n in per_split.items())
            print(f"label {label or '(none)'}: {counts} clips", file=stream, flush=True)
