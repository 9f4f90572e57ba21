"""Tests for labels and captions: preprocessing.captions, the sources' labels, and the dataset manifest's columns."""

import csv
import io
import json

import pytest

from common.errors import ParameterError
from preprocessing.captions import (
    chorale_caption,
    folder_caption,
    genre_caption,
    instrument_name,
    read_captions_file,
    spoken_key,
)
from preprocessing.config import PreprocessConfig
from preprocessing.pipeline import PreprocessingPipeline
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.manifest import MANIFEST_COLUMNS, OPTIONAL_MANIFEST_COLUMNS
from preprocessing.sources import discover_sources
from tests.conftest import TINY_SAMPLE_RATE, tiny_preprocess_config, write_tones

OLD_CHORALES_COLUMNS = ["piece", "split", "wav_path", "midi_path", "duration_s", "sample_rate"]
CHORALES_COLUMNS = OLD_CHORALES_COLUMNS + ["key", "mode", "tonic", "tempo_bpm", "n_parts"]
# piece: split, key, tempo_bpm, n_parts
PIECES = {
    "bwv1.6": ("train", "F major", "120.0", "4"),
    "bwv2.6": ("train", "G minor", "88.0", "4"),
    "bwv3.6": ("validation", "A major", "120.0", "5"),
    "bwv4.8": ("test", "E minor", "96.0", "4"),
}


def write_chorales(folder, columns=CHORALES_COLUMNS, program=19, audio=False):
    """A chorales-recipe folder: manifest.csv (with ``columns``), recipe.json, and tiny WAVs if ``audio``."""
    (folder / "wav").mkdir(parents=True, exist_ok=True)
    rows = []
    for piece, (split, key, tempo_bpm, n_parts) in PIECES.items():
        tonic, mode = key.split()
        row = {
            "piece": piece, "split": split, "wav_path": f"wav/{piece}.wav", "midi_path": f"midi/{piece}.mid",
            "duration_s": 2.5, "sample_rate": TINY_SAMPLE_RATE, "key": key, "mode": mode, "tonic": tonic,
            "tempo_bpm": tempo_bpm, "n_parts": n_parts,
        }  # fmt: skip
        rows.append({c: row[c] for c in columns})
    with (folder / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    if program is not None:
        (folder / "recipe.json").write_text(json.dumps({"program": program, "sample_rate": TINY_SAMPLE_RATE}))
    if audio:
        write_tones(folder / "wav", count=len(PIECES), seconds=2.5)
        for i, piece in enumerate(PIECES):
            (folder / "wav" / f"tone{i:02d}.wav").rename(folder / "wav" / f"{piece}.wav")
    return folder


def write_gtzan(folder, genres=("blues", "jazz"), per_genre=2):
    """``<folder>/genres_original/<genre>/<genre>.0000i.wav``: tiny tone files."""
    for genre in genres:
        write_tones(folder / "genres_original" / genre, count=per_genre, seconds=2.5)
        for i in range(per_genre):
            path = folder / "genres_original" / genre / f"tone{i:02d}.wav"
            path.rename(path.with_name(f"{genre}.{i:05d}.wav"))
    return folder


# === Captions ===


@pytest.mark.parametrize(
    "kwargs, caption",
    [
        (
            {"key": "G minor", "instrument": "church organ", "tempo_bpm": 88.0, "n_parts": 4},
            "a four-part Bach chorale in G minor, played on church organ, 88 bpm",
        ),
        ({"key": "Bb major", "n_parts": 8}, "an eight-part Bach chorale in B-flat major"),
        ({"key": "f# minor", "tempo_bpm": 119.6}, "a Bach chorale in F-sharp minor, 120 bpm"),
        ({"instrument": "choir aahs", "n_parts": 11}, "an eleven-part Bach chorale, played on choir aahs"),
        ({}, "a Bach chorale"),
    ],
)
def test_chorale_caption_template(kwargs, caption):
    assert chorale_caption(**kwargs) == caption


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"key": "H major"}, "key"),
        ({"key": "G dorian"}, "key"),
        ({"key": "G"}, "key"),
        ({"tempo_bpm": 0.0}, "tempo_bpm"),
        ({"tempo_bpm": float("nan")}, "tempo_bpm"),
        ({"n_parts": 0}, "n_parts"),
        ({"n_parts": 4.0}, "n_parts"),
    ],
)
def test_chorale_caption_rejects_bad_facts(kwargs, name):
    with pytest.raises(ParameterError, match=f"Received: {name}="):
        chorale_caption(**kwargs)


def test_key_genre_folder_and_instrument_words():
    assert spoken_key("eb minor") == "E-flat minor" and spoken_key("C## major") == "C-double-sharp major"
    assert genre_caption("blues") == "a blues recording" and genre_caption("electronic") == "an electronic recording"
    assert genre_caption(None) == "" and folder_caption(None) == ""
    assert folder_caption("baroque/organ_works") == "baroque organ works music"
    assert instrument_name(19) == "church organ" and instrument_name(0) == "acoustic grand piano"
    for program in (128, -1, True, "19"):
        with pytest.raises(ParameterError, match="Received: program="):
            instrument_name(program)


def test_read_captions_file_paths_quoting_and_extra_columns(tmp_path):
    input_dir = tmp_path / "in"
    (input_dir / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "other.wav"
    path = tmp_path / "captions.csv"
    # a byte-order mark, an extra MusicCaps column, a quoted comma and a quoted line break
    path.write_text(
        "\ufeffytid,file,caption\n"
        'x1,sub/a.wav,"slow organ, four voices"\n'
        f'x2,{elsewhere},"two\nlines"\n'
        "\n"
        "x3,./sub/../b.wav,\n",
        encoding="utf-8",
    )
    captions = read_captions_file(path, input_dir)
    assert captions.caption_for(input_dir / "sub" / "a.wav") == "slow organ, four voices"
    assert captions.caption_for(elsewhere) == "two\nlines"
    assert captions.caption_for(input_dir / "b.wav") == ""  # listed, empty caption
    assert captions.caption_for(input_dir / "c.wav") is None  # not listed
    assert captions.caption_for(None, input_dir / "sub" / "a.wav") == "slow organ, four voices"


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "not found"),
        (b"", "is empty"),
        (b"path,caption\na.wav,x\n", "lacks column(s) file"),
        (b"file,text\na.wav,x\n", "lacks column(s) caption"),
        (b"file,caption\na.wav,x,extra\n", "line 2 has 3 field(s), the header 2"),
        (b"file,caption\n,x\n", "line 2 has an empty 'file'"),
        (b"file,caption\na.wav,x\nb.wav,y\na.wav,z\n", "lists 'a.wav' twice with different captions (lines 2 and 4)"),
        (b"file,caption\na.wav,\xff\xfe bad\n", "not UTF-8"),
        (b'file,caption\na.wav,"x"y\n', "not valid CSV (line 2"),
    ],
)
def test_read_captions_file_rejects_malformed_files(tmp_path, content, problem):
    path = tmp_path / "captions.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ParameterError) as err:
        read_captions_file(path, tmp_path)
    assert problem in str(err.value)
    assert f"Received: captions_file={str(path)!r}" in str(err.value)


def test_duplicate_rows_with_the_same_caption_are_accepted(tmp_path):
    path = tmp_path / "captions.csv"
    path.write_text("file,caption\na.wav,x\n./a.wav,x\n")
    assert read_captions_file(path, tmp_path).captions == {(tmp_path / "a.wav").resolve(): "x"}


# === Labels and captions of the sources ===


def test_chorales_labels_follow_the_label_column_and_captions_the_analysis(tmp_path):
    folder = write_chorales(tmp_path / "chorales")
    records = discover_sources("chorales", folder)  # label: auto = mode
    assert [r.label for r in records] == ["major", "minor", "major", "minor"]
    assert [r.caption for r in records] == [
        "a four-part Bach chorale in F major, played on church organ, 120 bpm",
        "a four-part Bach chorale in G minor, played on church organ, 88 bpm",
        "a five-part Bach chorale in A major, played on church organ, 120 bpm",
        "a four-part Bach chorale in E minor, played on church organ, 96 bpm",
    ]
    assert [r.label for r in discover_sources("chorales", folder, label="key")] == [
        "F major", "G minor", "A major", "E minor",
    ]  # fmt: skip
    unlabelled = discover_sources("chorales", folder, label=None)
    assert {r.label for r in unlabelled} == {None} and unlabelled[1].caption == records[1].caption
    # another program, or no recipe.json: the caption names that instrument, or none
    write_chorales(folder, program=52)
    assert discover_sources("chorales", folder)[0].caption.endswith("played on choir aahs, 120 bpm")
    (folder / "recipe.json").unlink()
    assert discover_sources("chorales", folder)[0].caption == "a four-part Bach chorale in F major, 120 bpm"


def test_chorales_unknown_label_column_is_named(tmp_path):
    folder = write_chorales(tmp_path / "chorales")
    with pytest.raises(ParameterError, match="no column 'keyy'.*Received: label='keyy'"):
        discover_sources("chorales", folder, label="keyy")


def test_old_chorales_manifest_reads_without_labels_unless_one_is_asked_for(tmp_path):
    folder = write_chorales(tmp_path / "chorales", columns=OLD_CHORALES_COLUMNS)
    with pytest.warns(UserWarning, match="predates the key analysis"):
        records = discover_sources("chorales", folder)
    assert [r.split for r in records] == ["train", "train", "validation", "test"]
    assert {r.label for r in records} == {None}
    assert records[0].caption == "a Bach chorale, played on church organ"
    with pytest.raises(ParameterError, match="no column 'mode'.*python -m preprocessing.chorales --out"):
        discover_sources("chorales", folder, label="mode")


def test_chorales_malformed_analysis_cell_is_named(tmp_path):
    folder = write_chorales(tmp_path / "chorales")
    text = (folder / "manifest.csv").read_text().replace("88.0", "fast")
    (folder / "manifest.csv").write_text(text)
    with pytest.raises(ParameterError, match="^Chorales manifest line 3: tempo_bpm must be a number.*='fast'"):
        discover_sources("chorales", folder)
    (folder / "manifest.csv").write_text(text.replace("fast", "88.0").replace("G minor", "G dorian"))
    with pytest.raises(ParameterError, match="^Chorales manifest line 3: A key must .*Received: key='G dorian'"):
        discover_sources("chorales", folder)


def test_gtzan_and_folder_labels_and_captions(tmp_path):
    write_gtzan(tmp_path / "gtzan", genres=("blues", "electronic"), per_genre=1)
    records = discover_sources("gtzan", tmp_path / "gtzan")
    assert [(r.label, r.caption) for r in records] == [
        ("blues", "a blues recording"), ("electronic", "an electronic recording"),
    ]  # fmt: skip
    assert {r.label for r in discover_sources("gtzan", tmp_path / "gtzan", label=None)} == {None}
    with pytest.raises(ParameterError, match="only used with source: chorales.*Received: label='mode'"):
        discover_sources("gtzan", tmp_path / "gtzan", label="mode")

    write_tones(tmp_path / "music" / "baroque" / "organ_works", count=1)
    write_tones(tmp_path / "music", count=1)
    records = sorted(discover_sources("folder", tmp_path / "music"), key=lambda r: r.piece)
    assert [(r.piece, r.label, r.caption) for r in records] == [
        ("baroque/organ_works/tone00", "baroque/organ_works", "baroque organ works music"),
        ("tone00", None, ""),
    ]


@pytest.mark.parametrize(
    "kwargs",
    [{"label": ""}, {"label": 3}, {"source": "folder", "label": "mode"}, {"captions_file": ""}],
)
def test_config_label_and_captions_file_are_validated(kwargs):
    name = "captions_file" if "captions_file" in kwargs else "label"
    with pytest.raises(ParameterError, match=f"'{name}'.*Received: {name}="):
        PreprocessConfig(**kwargs)


# === The dataset manifest ===


def test_gtzan_dataset_manifest_has_folder_labels_and_captions(tmp_path):
    write_gtzan(tmp_path / "gtzan")
    config = tiny_preprocess_config(tmp_path / "gtzan", tmp_path / "out", source="gtzan", validation_fraction=0.0,
                                    test_fraction=0.0)  # fmt: skip
    report = PreprocessingPipeline(config).run(progress=None)
    with (tmp_path / "out" / "manifest.csv").open(newline="") as f:
        assert tuple(csv.DictReader(f).fieldnames) == MANIFEST_COLUMNS
    rows = DatasetFolder(tmp_path / "out").rows
    assert len(rows) == 8  # 4 files of 2.5 s: 2 clips of 1.024 s each
    for row in rows:
        genre = row["piece"].split(".")[0]
        assert row["label"] == genre and row["caption"] == f"a {genre} recording"
    assert report.clips_per_label == {
        "blues": {"train": 4, "validation": 0, "test": 0}, "jazz": {"train": 4, "validation": 0, "test": 0},
    }  # fmt: skip
    assert report.uncaptioned_files is None


def test_chorales_dataset_labels_by_mode_and_captions_file(tmp_path):
    folder = write_chorales(tmp_path / "chorales", audio=True)
    captions = tmp_path / "captions.csv"
    captions.write_text(f"file,caption\nwav/bwv1.6.wav,a calm chorale\n{folder / 'wav' / 'bwv2.6.wav'},a sad chorale\n")
    config = tiny_preprocess_config(folder, tmp_path / "out", source="chorales", label="mode")
    report = PreprocessingPipeline(config).run(progress=None)
    rows = DatasetFolder(tmp_path / "out").rows
    by_piece = {row["piece"]: (row["label"], row["caption"]) for row in rows}
    assert by_piece == {
        "bwv1.6": ("major", "a four-part Bach chorale in F major, played on church organ, 120 bpm"),
        "bwv2.6": ("minor", "a four-part Bach chorale in G minor, played on church organ, 88 bpm"),
        "bwv3.6": ("major", "a five-part Bach chorale in A major, played on church organ, 120 bpm"),
        "bwv4.8": ("minor", "a four-part Bach chorale in E minor, played on church organ, 96 bpm"),
    }
    assert report.clips_per_label == {
        "major": {"train": 2, "validation": 2, "test": 0}, "minor": {"train": 2, "validation": 0, "test": 2},
    }  # fmt: skip

    config = tiny_preprocess_config(folder, tmp_path / "out2", source="chorales", captions_file=str(captions))
    log = io.StringIO()
    report = PreprocessingPipeline(config).run(progress=log)
    captions_by_piece = {row["piece"]: row["caption"] for row in DatasetFolder(tmp_path / "out2").rows}
    assert captions_by_piece == {"bwv1.6": "a calm chorale", "bwv2.6": "a sad chorale", "bwv3.6": "", "bwv4.8": ""}
    assert report.uncaptioned_files == 2
    assert f"captions: 2 of 4 files not in {captions} (empty caption)" in log.getvalue()
    assert "label major: train 2, validation 2, test 0 clips" in log.getvalue()


def test_bad_captions_file_fails_before_any_clip_is_written(tmp_path):
    folder = write_chorales(tmp_path / "chorales", audio=True)
    (tmp_path / "captions.csv").write_text("file\nwav/bwv1.6.wav\n")
    captions_file = str(tmp_path / "captions.csv")
    config = tiny_preprocess_config(folder, tmp_path / "out", source="chorales", captions_file=captions_file)
    with pytest.raises(ParameterError, match="lacks column.*caption"):
        PreprocessingPipeline(config).run(progress=None)
    assert not (tmp_path / "out").exists()


def test_old_dataset_manifest_reads_with_empty_labels_and_captions(tmp_path):
    old_columns = [c for c in MANIFEST_COLUMNS if c not in OPTIONAL_MANIFEST_COLUMNS]
    with (tmp_path / "manifest.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(old_columns)
        writer.writerow(["a__0000", "train", "spectrograms/train/a__0000.npy", "a.wav", "a", 0.0, 3.072, -80.0, 30.0])
    rows = DatasetFolder(tmp_path).rows
    assert rows[0]["label"] == "" and rows[0]["caption"] == "" and rows[0]["max_db"] == 30.0
    assert rows[0]["rms_dbfs"] is None
    (tmp_path / "manifest.csv").write_text(",".join(old_columns[:-1]) + "\n")
    with pytest.raises(ParameterError, match="lacks column.*max_db"):
        DatasetFolder(tmp_path).rows

