"""The benchmark scripts run and print one row per setting (figures are not asserted: they are measurements)."""

from benchmarks import reconstruction, sampling
from tests.generate.score_roll_run import roll_run  # noqa: F401 (a fixture)


def test_sampling_benchmark_prints_a_row_per_step_count(runs, capsys):
    assert sampling.main(["--model", str(runs / "ddim"), "--num", "2", "--steps", "1", "3", "--griffin-lim-iters", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[-2:]] == ["1", "3"]
    assert all(float(line.split()[-1]) > 0 for line in lines[-2:])
    # seconds per 10 s of audio = 10 x seconds per clip / clip seconds (1.024 s clips)
    assert all(abs(float(line.split()[-2]) - 10 * float(line.split()[-3]) / 1.024) < 0.02 for line in lines[-2:])
    assert sampling.main(["--model", str(runs / "ae")]) == 2
    assert "Only a DDIM or a VAE" in capsys.readouterr().err
    assert sampling.main(["--model", str(runs / "ddim"), "--num", "1", "--steps", "1", "--candidates", "2"]) == 2
    assert "candidates=2" in capsys.readouterr().err


def test_sampling_benchmark_times_a_score_roll_model_per_candidate_count(roll_run, capsys):
    run_dir, _ = roll_run
    assert sampling.main(["--model", str(run_dir), "--num", "2", "--steps", "1", "--candidates", "1", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[:2] for line in lines[-2:]] == [["1", "1"], ["1", "3"]]
    assert all(float(line.split()[-1]) > 0 for line in lines[-2:])


def test_reconstruction_benchmark_table(tiny_dataset, capsys):
    audio = tiny_dataset.parent / "audio"
    argv = ["--input", str(audio), "--files", "2", "--seconds", "2", "--sample-rate", "8000", "--only", "log_stft", "mdct"]
    assert reconstruction.main(argv) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| log_stft") or line.startswith("| mdct")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert [c[0] for c in cells] == ["log_stft"] * 3 + ["mdct"] * 3  # the piano roll is skipped: no MIDI here
    assert all(float(c[2]) >= 100 for c in cells if c[0] == "mdct")  # exact inverse
    assert all(c[2] == "-" for c in cells if c[0] == "log_stft")  # Griffin-Lim does not keep phase
    assert float(cells[1][3]) < float(cells[0][3])  # 100 Griffin-Lim iterations converge further than 32
    assert float(cells[1][4]) < float(cells[0][4])


def test_reconstruction_benchmark_riffusion_rows(tiny_dataset, capsys):
    argv = ["--input", str(tiny_dataset.parent / "audio"), "--files", "1", "--seconds", "0.3", "--riffusion"]
    assert reconstruction.main(argv) == 0
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in capsys.readouterr().out.splitlines()
            if line.startswith("| before") or line.startswith("| after")]
    assert [row[0].split(":")[0] for row in rows] == ["before", "after"]
    assert all("(0.30 s)" in row[1] and float(row[2]) > 0 and 0 < float(row[3]) < 1 for row in rows)  # no speed asserted


# === The benchmark suite: preprocessing, training, end-to-end sampling, the runner ===

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import yaml  # noqa: E402
from conftest import TINY_MODELS, set_args, tiny_preprocess_config  # noqa: E402

from benchmarks import end_to_end, network_profile, preprocessing, suite, training  # noqa: E402
from benchmarks.report import CpuShares, TreeRssSampler, peak_rss_mb, significant  # noqa: E402
from common.config import config_to_dict  # noqa: E402
from common.errors import ParameterError  # noqa: E402


def positive_finite(figures):
    return all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in figures.values() if v is not None)


@pytest.fixture
def tiny_preprocess_yaml(tiny_dataset, tmp_path):
    """A preprocessing config file for the tiny dataset's audio (8 files of 3 s, folder source)."""
    path = tmp_path / "tiny.yaml"
    config = tiny_preprocess_config(tiny_dataset.parent / "audio", tmp_path / "unused")
    path.write_text(yaml.safe_dump(config_to_dict(config)))
    return path


def test_significant_rounds_to_four_digits_keeping_the_integer_part():
    assert [significant(v) for v in (0.0031234, 1.23456, 11635.1, 0.0)] == [0.003123, 1.235, 11635.0, 0.0]


def test_spread_picks_evenly_spaced_items():
    items = list(range(10))
    assert preprocessing.spread(items, 3) == [0, 4, 9]
    assert preprocessing.spread(items, None) == preprocessing.spread(items, 99) == items
    with pytest.raises(ParameterError, match="limit"):
        preprocessing.spread(items, 0)


def test_preprocessing_benchmark_times_the_loop_and_the_parallel_pipeline(tiny_preprocess_yaml, tmp_path, capsys):
    out = tmp_path / "preprocessing.json"
    assert preprocessing.main(["--config", str(tiny_preprocess_yaml), "--workers", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["setting"] for row in rows] == ["serial librosa loop (baseline)", "pipeline, 2 workers"]
    for row in rows:
        assert row["figures"]["files"] == 8 and row["figures"]["audio s"] == pytest.approx(24.0)
        assert positive_finite(row["figures"])
    assert rows[0]["figures"]["x baseline"] == 1.0
    assert rows[1]["figures"]["x baseline"] == pytest.approx(rows[0]["figures"]["wall s"] / rows[1]["figures"]["wall s"], rel=0.02)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-3].startswith("serial librosa loop") and printed[-2].startswith("pipeline, 2 workers")


@pytest.mark.parametrize("model", ["ddim", "autoencoder"])
def test_training_benchmark_reports_step_time_of_the_cli_model(model, tiny_dataset, tmp_path):
    out = tmp_path / "training.json"
    argv = ["--model", model, "--warmup", "1", "--steps", "2", "--json", str(out)]
    assert training.main(argv + set_args([f"data_dir={tiny_dataset}"] + TINY_MODELS[model])) == 0
    (row,) = json.loads(out.read_text())["rows"]
    figures = row["figures"]
    assert positive_finite(figures) and figures["batch"] == 4
    assert figures["samples/s"] == pytest.approx(4 / figures["s/step"], rel=0.01)


def test_end_to_end_benchmark_writes_a_piece_of_the_asked_length(runs, tmp_path):
    out = tmp_path / "end_to_end.json"
    argv = ["--model", str(runs / "ddim"), "--duration", "2.5", "--repeats", "2", "--out", str(tmp_path), "--json", str(out)]
    assert end_to_end.main(argv) == 0
    cold, warm = json.loads(out.read_text())["rows"]
    # tiny windows are 1.024 s: 2.5 s takes 3; the run's default is 2 steps
    assert cold["setting"].startswith("2.5 s piece, 3 windows, 2 DDIM steps, Griffin-Lim 32, float32, cold")
    shares = {key: warm["figures"].pop(key) for key in ("steal %", "others %")}
    assert all(0 <= share <= 100 for share in shares.values())
    assert positive_finite(cold["figures"]) and positive_finite(warm["figures"])
    assert warm["figures"]["x real time"] == pytest.approx(2.5 / warm["figures"]["wall s"], rel=0.01)
    for name in ("piece_cold.wav", "piece_warm_1.wav", "piece_warm_2.wav"):
        assert sf.info(str(tmp_path / name)).frames == 20000  # 2.5 s at 8 kHz


def test_end_to_end_benchmark_refuses_an_autoencoder(runs, capsys):
    assert end_to_end.main(["--model", str(runs / "ae"), "--repeats", "1"]) == 2
    assert "samples a DDIM" in capsys.readouterr().err


def test_tree_rss_sampler_counts_a_child_process():
    child = "import time; x = bytearray(300 * 2**20); time.sleep(1.5)"
    with TreeRssSampler(interval_s=0.1) as memory:
        subprocess.run([sys.executable, "-c", child], check=True)
    assert memory.peak_mb > 300  # the child's 300 MiB, summed with this process's own pages
    assert peak_rss_mb() > 0


def test_suite_passes_only_the_options_given():
    none = argparse.Namespace(input=None, limit=None, warmup=None, train_steps=None, model=None, duration=None, repeats=None)
    jobs = suite.default_jobs(none)
    assert [argv for _, argv in jobs] == [
        ["benchmarks.preprocessing"],
        ["benchmarks.training", "--model", "ddim"],
        ["benchmarks.training", "--model", "autoencoder"],
        ["benchmarks.end_to_end"],
    ]
    some = argparse.Namespace(**{**vars(none), "limit": 5, "train_steps": 7})
    assert suite.default_jobs(some)[0][1] == ["benchmarks.preprocessing", "--limit", "5"]
    assert suite.default_jobs(some)[1][1] == ["benchmarks.training", "--model", "ddim", "--steps", "7"]


def test_suite_runs_each_benchmark_in_a_process_and_prints_one_table(tiny_preprocess_yaml, tmp_path, capsys):
    jobs = [
        ("preprocessing", ["benchmarks.preprocessing", "--config", str(tiny_preprocess_yaml), "--workers", "1"]),
        ("broken", ["benchmarks.preprocessing", "--input", str(tmp_path / "missing")]),
    ]
    results, failures = suite.run_jobs(jobs)
    assert failures == [f"python -m benchmarks.preprocessing --input {tmp_path / 'missing'}"]
    assert "Input folder not found" in capsys.readouterr().err
    (result,) = results
    assert result["peak_rss_mb"] > 0
    table = suite.format_table(suite.machine_facts(), results).splitlines()
    for fact in ("CPU", "cores", "Python", "TensorFlow", "Keras", "NumPy"):
        assert any(line.startswith(f"- {fact}: ") and "not installed" not in line for line in table)
    rows = [line for line in table if line.startswith("| preprocessing |")]
    assert [row.split(" | ")[1] for row in rows] == ["serial librosa loop (baseline)", "pipeline, 1 worker"]
    assert all(float(row.split(" | ")[-1].rstrip(" |")) > 0 for row in rows)


def test_presets_benchmark_prints_a_row(tiny_dataset, tmp_path, capsys):
    from benchmarks import presets

    config = tmp_path / "ddim.yaml"
    config.write_text(f"data_dir: {tiny_dataset}\nbatch_size: 2\n")
    assert presets.main(["--presets", "tiny", "--config", str(config), "--train-steps", "1", "--clips", "1"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert row[0] == "tiny" and int(row[1].replace(",", "")) > 0 and all(float(v) > 0 for v in row[3:])


# === Training at scale (issue 5): precision, memory against data set size, two workers ===

import os  # noqa: E402

from benchmarks import scale  # noqa: E402
from preprocessing.dataset_folder import DatasetFolder  # noqa: E402


def test_replicated_dataset_hard_links_every_clip_under_new_names(tiny_dataset, tmp_path):
    rows = DatasetFolder(tiny_dataset).rows
    assert scale.replicate_dataset(tiny_dataset, tmp_path / "4x", copies=4) == 4 * len(rows)
    copied = DatasetFolder(tmp_path / "4x").rows
    assert len({row["clip_id"] for row in copied}) == len({row["path"] for row in copied}) == 4 * len(rows)
    for row in copied:
        original = rows[copied.index(row) % len(rows)]
        assert row["clip_id"].startswith(original["clip_id"] + "_x") and row["split"] == original["split"]
        assert os.path.samefile(tmp_path / "4x" / row["path"], tiny_dataset / original["path"])  # no bytes copied
    assert (tmp_path / "4x" / "transform.json").read_text() == (tiny_dataset / "transform.json").read_text()


def test_scale_benchmark_reports_memory_at_1x_and_4x_data(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "scale.json"
    argv = ["--only", "memory", "--quick", "--timeout", "120", "--json", str(out)]
    assert scale.main(argv + set_args([f"data_dir={tiny_dataset}"] + TINY_MODELS["ddim"])) == 0
    one, four = json.loads(out.read_text())["rows"]
    assert one["setting"].startswith("1x data") and four["setting"].startswith("4x data")
    assert four["figures"]["clips"] == 4 * one["figures"]["clips"]
    assert positive_finite(one["figures"]) and positive_finite(four["figures"])
    assert four["figures"]["x 1x RSS"] == pytest.approx(four["figures"]["peak RSS MiB"] / one["figures"]["peak RSS MiB"], rel=0.01)
    printed = capsys.readouterr().out
    assert "| memory | 4x data" in printed and "python -m benchmarks.training --model ddim" in printed
    assert "<4x copy>" in four["command"]


def test_band_fad_filters_keep_one_side_of_the_cutoff_and_bad_cutoffs_are_named(capsys):
    import numpy as np
    import pytest

    from benchmarks import band_fad
    from common.errors import ParameterError

    sample_rate = 16000
    t = np.arange(sample_rate) / sample_rate
    low, high = np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 3000 * t)
    (kept_low,), (kept_high,) = (band_fad.band_filter([low + high], kind, 1000, sample_rate)
                                 for kind in ("lowpass", "highpass"))
    middle = slice(2000, -2000)  # away from the edges
    assert np.abs(kept_low - low)[middle].max() < 0.01 and np.abs(kept_high - high)[middle].max() < 0.01
    assert band_fad.band_filter([low], "none", 0.0, sample_rate)[0] is low
    assert band_fad.parse_cutoff("highpass:2000") == ("highpass", 2000.0)
    for text in ("bandpass:100", "lowpass:x", "lowpass:-5"):
        with pytest.raises(ParameterError, match=f"Received: cutoff='{text}'"):
            band_fad.parse_cutoff(text)
    with pytest.raises(ParameterError, match="Nyquist"):
        band_fad.band_filter([low], "lowpass", 9000, sample_rate)
    assert band_fad.main(["--cutoffs", "treble"]) == 2
    assert "Received: cutoff='treble'" in capsys.readouterr().err


def test_prompt_sensitivity_separates_the_prompt_from_the_noise(runs, capsys):
    import numpy as np

    from benchmarks import prompt_sensitivity
    from generate.trained_model import TrainedModel

    trained = TrainedModel(runs / "ddim")
    clips = prompt_sensitivity.test_clips(trained, 2)
    assert clips.shape == (2, *trained.model.data_shape)
    same = np.stack([clips[0], clips[0]])  # one prompt twice: only the seed can change the sampled half
    prompt_effect, noise_effect = prompt_sensitivity.sensitivity(trained.model, same, steps=2)
    assert prompt_effect == 0.0 and noise_effect > 0.0
    assert prompt_sensitivity.main(["--model", str(runs / "ddim"), "--pairs", "1", "--steps", "2"]) == 0
    assert "ratio" in capsys.readouterr().out
    assert prompt_sensitivity.main(["--model", str(runs / "ddim"), "--pairs", "1000"]) == 2
    assert "fewer than the 2000 asked for" in capsys.readouterr().err
    assert prompt_sensitivity.main(["--model", str(runs / "ae")]) == 2
    assert "Only a DDIM" in capsys.readouterr().err


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_cpu_shares_count_other_processes_and_not_this_one():
    burner = "import time\nend = time.perf_counter() + 1.0\nwhile time.perf_counter() < end: pass"
    with CpuShares() as other_busy:
        subprocess.run([sys.executable, "-c", burner], check=True)  # a child burns one core; this one waits
    with CpuShares() as self_busy:
        busy(1.0)
    if other_busy.steal_share is None:
        pytest.skip("no /proc/stat here")
    for shares in (other_busy, self_busy):
        assert 0 <= shares.steal_share <= 1 and 0 <= shares.others_share <= 1
    # the child's core-second is someone else's load; this process's own is not (background load cancels)
    assert other_busy.others_share - self_busy.others_share > 0.15


def test_network_profile_sums_the_ops_of_the_network_by_type(runs, tmp_path, capsys):
    out = tmp_path / "profile.json"
    assert network_profile.main(["--model", str(runs / "ddim"), "--batch", "2", "--calls", "2", "--warmup", "1",
                                 "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["setting"].endswith("batch 2, float32") and row["figures"]["wall ms"] > 0
    op_types = [name for name in row["figures"] if name != "wall ms"]
    assert any("Conv2D" in name for name in op_types)  # the U-Net's convolutions are in the trace
    assert all(row["figures"][name] > 0 for name in op_types)
    assert "op type" in capsys.readouterr().out
    assert network_profile.main(["--model", str(runs / "ae")]) == 2
