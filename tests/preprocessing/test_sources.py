"""Tests for preprocessing.sources."""

import csv

import pytest
import soundfile as sf

from common.errors import ParameterError
from preprocessing.sources import (
    AUDIO_EXTENSIONS,
    SOUNDFILE_FORMAT_EXTENSIONS,
    SourceRecord,
    audio_extensions,
    discover_sources,
    hash_split,
    ignored_files,
    scan_sources,
)

CHORALES_COLUMNS = ["piece", "split", "wav_path", "midi_path", "duration_s", "sample_rate"]


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_chorales_manifest(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CHORALES_COLUMNS)
        writer.writeheader()
        for piece, split in rows:
            writer.writerow(
                {
                    "piece": piece,
                    "split": split,
                    "wav_path": f"wav/{piece}.wav",
                    "midi_path": f"midi/{piece}.mid",
                    "duration_s": 30.0,
                    "sample_rate": 16000,
                }
            )


def test_chorales_reads_manifest_and_split(tmp_path):
    folder = tmp_path / "chorales"
    write_chorales_manifest(folder, [("bwv26.6", "train"), ("bwv 40/8", "validation"), ("bwv9.7", "test")])
    records = discover_sources("chorales", folder)
    assert [r.piece for r in records] == ["bwv26.6", "bwv 40/8", "bwv9.7"]
    assert [r.split for r in records] == ["train", "validation", "test"]
    assert records[0].path == folder / "wav" / "bwv26.6.wav"
    assert records[1].clip_prefix == "bwv_40-8"  # filesystem-safe


def test_chorales_pickup_is_read_when_the_manifest_has_it(tmp_path):
    write_chorales_manifest(tmp_path, [("a", "train"), ("b", "train"), ("c", "test")])
    assert [r.pickup_quarters for r in discover_sources("chorales", tmp_path)] == [None, None, None]  # an older manifest
    lines = (tmp_path / "manifest.csv").read_text().splitlines()
    cells = ["pickup_quarters", "1.0", "0.0", ""]
    (tmp_path / "manifest.csv").write_text("\n".join(f"{line},{cell}" for line, cell in zip(lines, cells)) + "\n")
    assert [r.pickup_quarters for r in discover_sources("chorales", tmp_path)] == [1.0, 0.0, None]
    (tmp_path / "manifest.csv").write_text("\n".join(f"{line},{cell}" for line, cell in zip(lines, cells[:2] + ["-1"])))
    with pytest.raises(ParameterError, match="line 3: pickup_quarters must be a number >= 0.*Received: pickup_quarters='-1'"):
        discover_sources("chorales", tmp_path)


def test_chorales_key_is_read_from_the_tonic_and_mode_columns(tmp_path):
    write_chorales_manifest(tmp_path, [("a", "train"), ("b", "train"), ("c", "test")])
    assert [r.key for r in discover_sources("chorales", tmp_path)] == [None, None, None]  # an older manifest
    lines = (tmp_path / "manifest.csv").read_text().splitlines()
    cells = ["tonic,mode", "G,minor", "Bb,major", ","]
    (tmp_path / "manifest.csv").write_text("\n".join(f"{line},{cell}" for line, cell in zip(lines, cells)) + "\n")
    assert [r.key for r in discover_sources("chorales", tmp_path)] == ["G minor", "Bb major", None]
    (tmp_path / "manifest.csv").write_text("\n".join(f"{line},{cell}" for line, cell in zip(lines, cells[:3] + ["D,"])))
    with pytest.raises(ParameterError, match="line 4: a key needs a tonic and a mode.*Received: tonic='D', mode=''"):
        discover_sources("chorales", tmp_path)


def test_chorales_errors(tmp_path):
    with pytest.raises(ParameterError, match="Input folder not found"):
        discover_sources("chorales", tmp_path / "missing")
    with pytest.raises(ParameterError, match="manifest not found"):
        discover_sources("chorales", tmp_path)
    write_chorales_manifest(tmp_path, [("a", "dev")])
    with pytest.raises(ParameterError, match="Received: split='dev'"):
        discover_sources("chorales", tmp_path)
    (tmp_path / "manifest.csv").write_text("piece,wav_path\na,a.wav\n")
    with pytest.raises(ParameterError, match="lacks column"):
        discover_sources("chorales", tmp_path)


@pytest.mark.parametrize("nested", [True, False])
def test_gtzan_layouts_and_genres(tmp_path, nested):
    root = tmp_path / "genres_original" if nested else tmp_path
    for genre in ("blues", "jazz", "rock"):
        for i in range(3):
            touch(root / genre / f"{genre}.{i:05d}.wav")
    records = discover_sources("gtzan", tmp_path, genres=("jazz", "rock"))
    assert len(records) == 6
    assert {r.label for r in records} == {"jazz", "rock"}
    assert records[0].piece == "jazz.00000"
    assert len(discover_sources("gtzan", tmp_path)) == 9
    with pytest.raises(ParameterError, match="Received: genre='polka'"):
        discover_sources("gtzan", tmp_path, genres=("polka",))


def test_gtzan_split_does_not_depend_on_layout(tmp_path):
    for base in ("a/genres_original", "b"):
        for i in range(20):
            touch(tmp_path / base / "jazz" / f"jazz.{i:05d}.wav")
    splits_a = [r.split for r in discover_sources("gtzan", tmp_path / "a", test_fraction=0.3)]
    splits_b = [r.split for r in discover_sources("gtzan", tmp_path / "b", test_fraction=0.3)]
    assert splits_a == splits_b


def test_audio_extensions_follow_soundfile_formats():
    assert audio_extensions(["AIFF", "wav"]) == (".aif", ".aifc", ".aiff", ".wav", ".wave")
    assert audio_extensions(["RAW", "MAT5", "NOT_A_FORMAT"]) == ()  # no extension of their own
    assert ".mp3" not in audio_extensions(["WAV", "FLAC"])  # an older libsndfile without MP3
    available = sf.available_formats()
    assert AUDIO_EXTENSIONS == audio_extensions(available)
    for name, extensions in SOUNDFILE_FORMAT_EXTENSIONS.items():
        assert set(extensions) <= set(AUDIO_EXTENSIONS) or name not in available
    assert {".aiff", ".aif", ".au", ".wav", ".flac"} <= set(AUDIO_EXTENSIONS)
    assert ".m4a" not in AUDIO_EXTENSIONS and ".txt" not in AUDIO_EXTENSIONS


def test_folder_is_recursive_and_case_insensitive(tmp_path):
    touch(tmp_path / "a.WAV")
    touch(tmp_path / "sub" / "b.flac")
    touch(tmp_path / "sub" / "deeper" / "c.Ogg")
    touch(tmp_path / "sub" / "d.mp3")
    touch(tmp_path / "sub" / "e.AIF")
    touch(tmp_path / "f.au")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden.wav")
    records = discover_sources("folder", tmp_path)
    assert sorted(r.piece for r in records) == ["a", "f", "sub/b", "sub/d", "sub/deeper/c", "sub/e"]
    labels = {r.piece: r.label for r in records}
    assert labels["a"] is None and labels["sub/deeper/c"] == "sub/deeper"
    assert all(isinstance(r, SourceRecord) and r.split in ("train", "validation", "test") for r in records)


def test_folder_lists_every_file_it_ignores_with_the_reason(tmp_path):
    touch(tmp_path / "a.wav")
    touch(tmp_path / "album" / "b.aiff")
    touch(tmp_path / "album" / "cover.jpg")
    touch(tmp_path / "album" / "c.m4a")
    touch(tmp_path / "README")
    touch(tmp_path / ".hidden.wav")
    records, ignored = scan_sources("folder", tmp_path)
    assert sorted(r.piece for r in records) == ["a", "album/b"]
    assert ignored == [
        (tmp_path / ".hidden.wav", "hidden file"),
        (tmp_path / "README", "not an audio format soundfile reads: (no extension)"),
        (tmp_path / "album" / "c.m4a", "not an audio format soundfile reads: .m4a"),
        (tmp_path / "album" / "cover.jpg", "not an audio format soundfile reads: .jpg"),
    ]
    assert records == discover_sources("folder", tmp_path)
    touch(tmp_path / "x.mid")
    records, ignored = scan_sources("folder", tmp_path, midi=True)
    assert [r.piece for r in records] == ["x"]
    assert (tmp_path / "a.wav", "not a MIDI file: .wav") in ignored


def test_gtzan_lists_files_outside_the_chosen_genre_folders(tmp_path):
    root = tmp_path / "genres_original"
    for genre in ("blues", "jazz"):
        touch(root / genre / f"{genre}.00000.wav")
    touch(root / "jazz" / "extra" / "take2.wav")
    touch(root / "stray.wav")
    touch(tmp_path / "images_original" / "jazz" / "jazz00000.png")
    records, ignored = scan_sources("gtzan", tmp_path, genres=("jazz",))
    assert [r.path for r in records] == [root / "jazz" / "jazz.00000.wav"]
    assert dict(ignored) == {
        tmp_path / "images_original" / "jazz" / "jazz00000.png": "not an audio format soundfile reads: .png",
        root / "blues" / "blues.00000.wav": "genre not chosen: blues",
        root / "jazz" / "extra" / "take2.wav": "not in a genre folder",
        root / "stray.wav": "not in a genre folder",
    }
    # the chorales' manifest, not the folder, lists the inputs: nothing is reported as ignored
    assert ignored_files("chorales", tmp_path, records) == []


def test_clip_prefixes_are_unique(tmp_path):
    touch(tmp_path / "x.wav")
    touch(tmp_path / "x.flac")
    touch(tmp_path / "a" / "b.wav")
    touch(tmp_path / "a-b.wav")
    prefixes = [r.clip_prefix for r in discover_sources("folder", tmp_path)]
    assert len(set(prefixes)) == 4


def test_folder_errors(tmp_path):
    with pytest.raises(ParameterError, match="Received: input_dir="):
        discover_sources("folder", tmp_path / "missing")
    touch(tmp_path / "readme.txt")
    with pytest.raises(ParameterError, match="No audio files"):
        discover_sources("folder", tmp_path)
    with pytest.raises(ParameterError, match="Received: source='youtube'"):
        discover_sources("youtube", tmp_path)


def test_hash_split_is_stable_and_proportional():
    keys = [f"genre/file{i}.wav" for i in range(4000)]
    splits = [hash_split(k, 0.1, 0.2, seed=0) for k in keys]
    assert splits == [hash_split(k, 0.1, 0.2, seed=0) for k in keys]
    assert splits.count("test") / len(keys) == pytest.approx(0.2, abs=0.03)
    assert splits.count("validation") / len(keys) == pytest.approx(0.1, abs=0.03)
    assert splits != [hash_split(k, 0.1, 0.2, seed=1) for k in keys]
    assert set(hash_split(k, 0.0, 0.0) for k in keys) == {"train"}
    # Pinned, so a change of hashing (which would reshuffle every dataset) is noticed.
    pinned = [hash_split(f"blues/blues.{i:05d}.wav", 0.3, 0.3) for i in range(8)]
    assert pinned == ["train", "validation", "train", "test", "test", "validation", "validation", "validation"]
