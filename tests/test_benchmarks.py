"""The benchmark scripts run and print one row per setting (figures are not asserted: they are measurements)."""

from benchmarks import reconstruction, sampling


def test_sampling_benchmark_prints_a_row_per_step_count(runs, capsys):
    assert sampling.main(["--model", str(runs / "ddim"), "--num", "2", "--steps", "1", "3", "--griffin-lim-iters", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[-2:]] == ["1", "3"]
    assert all(float(line.split()[-1]) > 0 for line in lines[-2:])


def test_reconstruction_benchmark_converges_with_iterations(tiny_dataset, capsys):
    assert reconstruction.main(["--data", str(tiny_dataset), "--num", "2", "--iters", "1", "50"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    one, fifty = (float(line.split()[1]) for line in lines[-2:])
    assert fifty < one  # more Griffin-Lim iterations, smaller spectral convergence
