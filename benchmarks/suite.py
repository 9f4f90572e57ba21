"""Every benchmark in one run, each in a fresh process, then one table with the machine's facts.

Usage:
    python -m benchmarks.suite                                   # about 4 minutes on 2 cores
    python -m benchmarks.suite --json outputs/benchmarks.json    # also keep the figures

Runs, one after the other, each as its own ``python -m`` process writing its
figures to a temporary JSON file (so each peak RSS is that benchmark's own,
and the cold sampling figure is really cold):

    benchmarks.preprocessing                  the librosa loop against the pipeline, 1, 2 and 4 workers
    benchmarks.training --model ddim          the default DDIM config
    benchmarks.training --model autoencoder   the default autoencoder config
    benchmarks.end_to_end                     a 10 s piece, noise to WAV, cold and warm

(each with its defaults, or the options given here passed on),
then prints the machine (CPU model, cores, memory, load average before and
after, Python, TensorFlow, Keras, NumPy, librosa) and one Markdown table:
benchmark, setting, figures, peak RSS of the benchmark's process. A benchmark
that fails is shown with its output, and the exit status is 1 (else 0).
"""

import argparse
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.report import add_json_argument
from common.atomic import atomic_write_json

VERSIONS = {
    # shown name: distribution names to try, first installed wins
    "TensorFlow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "Keras": ("keras",),
    "NumPy": ("numpy",),
    "librosa": ("librosa",),
}


def _options(**options):
    """``["--name", "value", ...]`` for the options that are not None (``_`` in a name becomes ``-``)."""
    return [
        arg for name, value in options.items() if value is not None for arg in (f"--{name.replace('_', '-')}", str(value))
    ]


def default_jobs(args):
    """The suite's benchmark command lines: list of ``(name, [module, arg, ...])``.

    An option left None in ``args`` is not passed, so the benchmark's own default applies.
    """
    steps = _options(warmup=args.warmup, steps=args.train_steps)
    return [
        ("preprocessing", ["benchmarks.preprocessing", *_options(input=args.input, limit=args.limit)]),
        ("training", ["benchmarks.training", "--model", "ddim", *steps]),
        ("training", ["benchmarks.training", "--model", "autoencoder", *steps]),
        ("end-to-end sampling", ["benchmarks.end_to_end",
                                 *_options(model=args.model, duration=args.duration, repeats=args.repeats)]),
    ]


def _first_line_value(path, key):
    """The value of the first ``key: value`` line of a text file (``/proc/cpuinfo``), or None."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.split(":")[0].strip() == key:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def load_average():
    """The 1-minute load average (float), or None where the platform has none."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def machine_facts():
    """What the figures were measured on: a dict of str -> str (CPU, cores, memory, versions)."""
    memory_kb = _first_line_value("/proc/meminfo", "MemTotal")
    facts = {
        "CPU": _first_line_value("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": f"{os.cpu_count()} logical"
        + (f", {len(os.sched_getaffinity(0))} usable" if hasattr(os, "sched_getaffinity") else ""),
        "memory": f"{int(memory_kb.split()[0]) / 2**20:.1f} GiB" if memory_kb else "unknown",
        "OS": platform.platform(),
        "Python": platform.python_version(),
    }
    for name, distributions in VERSIONS.items():
        for distribution in distributions:
            try:
                facts[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            facts[name] = "not installed"
    return facts


def run_jobs(jobs, log=None):
    """Run each benchmark in a fresh process and collect its JSON.

    Args:
        jobs: list of ``(name, [module, arg, ...])``; each module takes ``--json PATH``.
        log: text stream for progress lines and the output of failed benchmarks
            (None: ``sys.stderr`` as it is when called).
    Returns:
        ``(results, failures)``: the JSON dicts of the benchmarks that succeeded
        (see `benchmarks.report.write_results`), each with its ``"command"``
        added, and the command lines (str) of those that failed.
    """
    log = log or sys.stderr
    results, failures = [], []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    with tempfile.TemporaryDirectory(prefix="bench_suite_") as tmp:
        for k, (name, argv) in enumerate(jobs, start=1):
            command = "python -m " + shlex.join(argv)
            print(f"[{k}/{len(jobs)}] {command}", file=log, flush=True)
            json_path = Path(tmp) / f"{k}.json"
            done = subprocess.run(
                [sys.executable, "-m", *argv, "--json", str(json_path)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            )
            if done.returncode != 0 or not json_path.is_file():
                print(f"failed (exit status {done.returncode}):\n{done.stdout}", file=log, flush=True)
                failures.append(command)
                continue
            result = json.loads(json_path.read_text())
            result["benchmark"] = name
            result["command"] = command
            results.append(result)
    return results, failures


def _figure(unit, value):
    """``"0.822 x baseline"``, ``"11,640 audio s"``: 3 significant digits, whole numbers from 100 up."""
    if isinstance(value, float):
        value = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value} {unit}"


def format_table(facts, results):
    """The machine's facts and one Markdown table row per measured setting, as one str."""
    lines = [f"- {key}: {value}" for key, value in facts.items()]
    lines += ["", "| benchmark | setting | figures | peak RSS MiB |", "|---|---|---|---|"]
    for result in results:
        for row in result["rows"]:
            figures = ", ".join(_figure(unit, value) for unit, value in row["figures"].items())
            lines.append(f"| {result['benchmark']} | {row['setting']} | {figures} | {result['peak_rss_mb']:.0f} |")
    lines += ["", "Commands (from the repository root, each in its own process):"]
    lines += [f"    {result['command']}" for result in results]
    return "\n".join(lines)


def main(argv=None):
    """CLI entry point; prints the table; returns 0, or 1 if a benchmark failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", default=None, help="preprocessing: audio folder (default data/chorales)")
    parser.add_argument("--limit", type=int, default=None, help="preprocessing: files to use (default all)")
    parser.add_argument("--warmup", type=int, default=None, help="training: untimed steps (default 3)")
    parser.add_argument("--train-steps", type=int, default=None, help="training: timed steps (default 20)")
    parser.add_argument("--model", default=None, help="sampling: DDIM run folder (default saved_models/chorales_ddim)")
    parser.add_argument("--duration", type=float, default=None, help="sampling: seconds per piece (default 10)")
    parser.add_argument("--repeats", type=int, default=None, help="sampling: warm pieces timed (default 3)")
    add_json_argument(parser)
    args = parser.parse_args(argv)

    facts = machine_facts()
    load_before = load_average()
    results, failures = run_jobs(default_jobs(args))
    facts["load average (1 min) before, after"] = f"{load_before}, {load_average()}"
    print(format_table(facts, results))
    if args.json:
        atomic_write_json(args.json, {"machine": facts, "results": results, "failed": failures}, sort_keys=False)
    if failures:
        print(f"{len(failures)} benchmark(s) failed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
