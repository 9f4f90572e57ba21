"""Training at scale (issue 5): precision and XLA, memory against data set size, two workers against one.

Usage:
    python -m benchmarks.scale                                  # about 5 minutes on 2 cores
    python -m benchmarks.scale --warmup 1 --steps 3 --json outputs/scale.json
    python -m benchmarks.scale --only memory workers --quick

Every setting is one run of ``python -m benchmarks.training --model ddim`` (the
training CLI's model, config, data stream and loop; see that module) in a
process of its own, so that its peak RSS and its Keras dtype policy are its
own. All runs take the same ``--config`` (default ``configs/chorales_ddim.yaml``),
``--set`` overrides, ``--warmup`` untimed and ``--steps`` timed steps. Parts
(``--only``, default all, in this order):

    precision  float32 (the baseline), ``jit_compile=true``, ``mixed_precision=mixed_float16``,
               ``mixed_precision=mixed_bfloat16``: seconds per step and samples per second.
    memory     peak RSS of the baseline on the config's data set (1x) and on a 4x copy of it:
               every clip hard-linked (``os.link``, no bytes copied) under four new names
               in a temporary folder, ``manifest.csv`` rows repeated with renamed clip ids
               and paths, ``normalisation.json`` and ``transform.json`` copied. The loader
               streams clips from disk, so memory should not grow with the data set.
    cache      the 1x run with ``cache_clips=true`` for contrast (the cache holds only the
               clips read, ``(warmup + steps) * batch_size`` at most).
    workers    two processes on 127.0.0.1 with ``strategy=multi_worker`` (``TF_CONFIG`` on
               free ports; the config's ``batch_size`` is the global batch, half per worker),
               the chief's figures, against one process with ``strategy=default``.

A run whose command line is the same as an earlier one's (the 1x memory run is
the float32 baseline) is not run again. A run that fails or outlives
``--timeout`` is shown as such, with its log's tail, and the exit status is 1.
Prints the machine's facts, the load average before and after, one Markdown
table and the commands that reproduce each row.
"""

import errno
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.report import add_json_argument, significant, write_results
from benchmarks.suite import load_average, machine_facts
from common.config import parse_overrides
from common.errors import ParameterError
from preprocessing.dataset_folder import DatasetFolder
from train.strategy import local_worker_addresses

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "configs/chorales_ddim.yaml"
PARTS = ("precision", "memory", "cache", "workers")
PRECISIONS = (
    # (setting, extra --set pairs)
    ("float32 (baseline)", []),
    ("jit_compile=true (XLA)", ["jit_compile=true"]),
    ("mixed_precision=mixed_float16", ["mixed_precision=mixed_float16"]),
    ("mixed_precision=mixed_bfloat16", ["mixed_precision=mixed_bfloat16"]),
)
COPIES = 4


def replicate_dataset(source, destination, copies=COPIES):
    """Write a ``copies``-times larger copy of a preprocessed data set without copying clip bytes.

    Every clip ``.npy`` of ``source`` is hard-linked ``copies`` times into ``destination``
    as ``spectrograms/<split>/<clip_id>_x<k>.npy`` (k = 0 .. copies - 1); ``manifest.csv``
    lists each row ``copies`` times with that clip id and path (same split, statistics,
    label and caption); ``normalisation.json`` and ``transform.json`` are copied.

    Args:
        source: folder written by ``python -m preprocessing.run``.
        destination: folder to write (created; must be on the same file system, as hard links are).
        copies: int >= 1.
    Returns:
        The number of clips listed in the new manifest.
    Raises:
        ParameterError: if ``copies`` < 1 or ``source`` lacks a manifest.
        OSError: from ``os.link`` (``errno.EXDEV`` across file systems).
    """
    if copies < 1:
        raise ParameterError(f"copies must be >= 1. Received: copies={copies}")
    source, destination = DatasetFolder(source), DatasetFolder(destination)
    new_rows = []
    for k in range(copies):
        for row in source.rows:
            clip_id = f"{row['clip_id']}_x{k}"
            path = destination.clip_relative(row["split"], clip_id)
            destination.clip_path(path).parent.mkdir(parents=True, exist_ok=True)
            os.link(source.clip_path(row["path"]), destination.clip_path(path))
            new_rows.append({**row, "clip_id": clip_id, "path": path})
    destination.write_manifest(new_rows)
    destination.copy_codec_from(source)
    return len(new_rows)


def replicated_folder(source, copies=COPIES):
    """`replicate_dataset` into a new temporary folder: in the system's, or beside ``source``
    when that is on another file system. Returns the folder; the caller removes it."""
    for parent in (None, Path(source).resolve().parent):
        folder = Path(tempfile.mkdtemp(prefix=f"scale_{copies}x_", dir=parent))
        try:
            replicate_dataset(source, folder, copies)
            return folder
        except OSError as err:
            shutil.rmtree(folder, ignore_errors=True)
            if err.errno != errno.EXDEV or parent is not None:
                raise
    raise AssertionError("unreachable")


def _command_text(argv, env=None):
    """The shell line of one run, from the repository root."""
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in (env or {}).items())
    return prefix + "python -m " + shlex.join(argv)


def _tail(path, lines=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Runner:
    """Starts `benchmarks.training` processes with shared options; logs and JSON go to ``work``.

    Args:
        work: a folder for logs and JSON files.
        config: the config file passed as ``--config``.
        overrides: ``["key=value", ...]`` passed to every run.
        warmup, steps: passed to every run.
        timeout: seconds a run (or the pair of workers) may take before it is killed.
        log: text stream for progress lines.
    """

    def __init__(self, work, config, overrides, warmup, steps, timeout, log):
        self.work, self.config, self.overrides = Path(work), config, list(overrides)
        self.warmup, self.steps, self.timeout, self.log = warmup, steps, timeout, log
        self.count = 0
        self.done = {}  # argv tuple -> result, for runs asked for twice

    def argv(self, pairs):
        sets = [arg for pair in self.overrides + list(pairs) for arg in ("--set", pair)]
        return ["benchmarks.training", "--model", "ddim", "--config", self.config,
                "--warmup", str(self.warmup), "--steps", str(self.steps), *sets]

    def _start(self, argv, env_extra=None):
        self.count += 1
        stem = self.work / f"run{self.count}"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        env.pop("TF_CONFIG", None)
        env.update(env_extra or {})
        # stdout and stderr go to files: a full pipe would stall one worker while the other waits on it
        with open(f"{stem}.out", "w") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", *argv, "--json", f"{stem}.json"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )
        return process, stem

    def _wait(self, processes, start):
        """Wait until all ``processes`` end, one fails, or ``self.timeout`` after ``start`` has passed;
        then kill what is left (a worker whose peer failed would wait for it). Returns False on time-out."""
        in_time = True
        while any(p.poll() is None for p in processes):
            if any(p.poll() not in (None, 0) for p in processes):
                break
            if time.monotonic() > start + self.timeout:
                in_time = False
                break
            time.sleep(0.2)
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        return in_time

    def _result(self, command, stem, processes, in_time, wall):
        result = {"command": command, "wall_s": significant(wall)}
        json_path = Path(f"{stem}.json")
        if in_time and all(p.returncode == 0 for p in processes) and json_path.is_file():
            written = json.loads(json_path.read_text())
            result["figures"] = dict(written["rows"][0]["figures"], **{"peak RSS MiB": written["peak_rss_mb"]})
        else:
            why = f"timed out after {self.timeout:g} s" if not in_time else \
                f"failed (exit status {', '.join(str(p.returncode) for p in processes)})"
            result["error"] = why
            print(f"  {why}; the end of its log:\n{_tail(f'{stem}.out')}", file=self.log, flush=True)
        print(f"  {wall:.0f} s", file=self.log, flush=True)
        return result

    def run(self, pairs):
        """One process training with ``--set`` ``pairs`` added: ``{"command", "wall_s", "figures" | "error"}``."""
        argv = self.argv(pairs)
        if tuple(argv) in self.done:
            return dict(self.done[tuple(argv)], reused=True)
        command = _command_text(argv)
        print(command, file=self.log, flush=True)
        start = time.monotonic()
        process, stem = self._start(argv)
        in_time = self._wait([process], start)
        result = self._result(command, stem, [process], in_time, time.monotonic() - start)
        self.done[tuple(argv)] = result
        return result

    def run_workers(self, pairs, count=2, attempts=2):
        """``count`` processes with ``strategy=multi_worker`` on 127.0.0.1; the chief's figures, as `run`.

        A pair that fails is started again on new ports, up to ``attempts`` times in all: a port
        picked free can be taken meanwhile, or dialled by another cluster's worker on this host.
        """
        argv = self.argv(["strategy=multi_worker", f"worker_timeout_s={self.timeout:g}", *pairs])
        for attempt in range(1, attempts + 1):
            workers = local_worker_addresses(count)
            configs = [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
                       for i in range(count)]
            command = " & ".join(_command_text(argv, {"TF_CONFIG": c}) for c in configs) + " & wait"
            print(command, file=self.log, flush=True)
            start = time.monotonic()
            started = [self._start(argv, {"TF_CONFIG": c}) for c in configs]
            processes = [p for p, _ in started]
            in_time = self._wait(processes, start)
            result = self._result(command, started[0][1], processes, in_time, time.monotonic() - start)
            result["attempts"] = attempt
            if "error" not in result or not in_time:
                return result
            if attempt < attempts:
                print("  starting the workers again on new ports", file=self.log, flush=True)
        return result

def _ratio(a, b):
    return significant(a / b, 3) if a and b else None


def measure(parts, runner, data_dir, batch_size):
    """Run the settings of ``parts``; returns the rows ``{"part", "setting", "figures", "command", ...}``."""
    rows = []

    def add(part, setting, result, reference=None, ratio_name=None, key="samples/s", **figures):
        figures = {**figures, **result.get("figures", {})}
        if reference is not None and ratio_name:
            figures[ratio_name] = _ratio(figures.get(key), reference.get("figures", {}).get(key))
        row = {"part": part, "setting": setting, "figures": figures, "command": result["command"],
               "wall_s": result["wall_s"]}
        for name in ("error", "reused", "attempts"):
            if name in result:
                row[name] = result[name]
        rows.append(row)
        return result

    baseline = None
    if "precision" in parts:
        for setting, pairs in PRECISIONS:
            result = runner.run(pairs)
            baseline = baseline or result
            add("precision", setting, result, baseline, "x baseline")
    if "memory" in parts or "cache" in parts:
        one = runner.run([])
        clips = len(DatasetFolder(data_dir).split_rows("train"))
        add("memory", f"1x data ({clips} training clips)", one, clips=clips)
        if "memory" in parts:
            start = time.monotonic()
            folder = replicated_folder(data_dir)
            print(f"  {COPIES}x copy of {data_dir} by hard links in {folder}: {time.monotonic() - start:.1f} s",
                  file=runner.log, flush=True)
            try:
                many = runner.run([f"data_dir={folder}"])
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            many["command"] = many["command"].replace(str(folder), f"<{COPIES}x copy>")
            add("memory", f"{COPIES}x data ({COPIES * clips} training clips, hard links)", many, one,
                "x 1x RSS", key="peak RSS MiB", clips=COPIES * clips)
        if "cache" in parts:
            add("memory", "1x data, cache_clips=true", runner.run(["cache_clips=true"]), one, "x 1x RSS",
                key="peak RSS MiB", clips=clips)
    if "workers" in parts:
        single = add("workers", f"1 process, strategy=default, global batch {batch_size}",
                     runner.run(["strategy=default"]))
        add("workers", f"2 workers on 127.0.0.1, strategy=multi_worker, global batch {batch_size} (chief)",
            runner.run_workers([]), single, "x 1 process")
    return rows


COLUMNS = ("s/step", "samples/s", "peak RSS MiB", "x baseline", "x 1x RSS", "x 1 process", "replicas")


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_table(rows):
    """One Markdown table of ``rows`` (a column per figure in COLUMNS), then the commands, as one str."""
    lines = ["| part | setting | " + " | ".join(COLUMNS) + " | process wall s |",
             "|---|---|" + "---|" * (len(COLUMNS) + 1)]
    for k, row in enumerate(rows, start=1):
        if "error" in row:
            cells = [row["error"]] + ["-"] * (len(COLUMNS) - 1)
        else:
            cells = [_cell(row["figures"].get(column)) for column in COLUMNS]
        wall = "(same run as above)" if row.get("reused") else _cell(row["wall_s"])
        if row.get("attempts", 1) > 1:
            wall += f" (attempt {row['attempts']}: the first pair failed)"
        lines.append(f"| {row['part']} | {row['setting']} [{k}] | " + " | ".join(cells) + f" | {wall} |")
    lines += ["", "Commands (from the repository root, each in its own process):"]
    lines += [f"    [{k}] {row['command']}" for k, row in enumerate(rows, start=1)]
    return "\n".join(lines)


def run(args):
    """Measure, print, write the JSON; returns 0, or 1 if a run failed."""
    if args.quick:
        args.warmup, args.steps = 1, 1
    if args.warmup < 1 or args.steps < 1:
        raise ParameterError(f"--warmup and --steps must be >= 1. Received: warmup={args.warmup}, steps={args.steps}")
    config_path = ROOT / args.config if not Path(args.config).is_absolute() else Path(args.config)
    if not config_path.is_file():
        raise ParameterError(f"Config file not found. Received: config={args.config!r}")
    values = {**(yaml.safe_load(config_path.read_text()) or {}), **parse_overrides(args.overrides)}
    data_dir = Path(values.get("data_dir", "data/chorales_stft"))
    data_dir = data_dir if data_dir.is_absolute() else ROOT / data_dir
    batch_size = values.get("batch_size", 16)
    _ = DatasetFolder(data_dir).rows  # fails early, with the path, when the data set is missing
    parts = [part for part in PARTS if part in (args.only or PARTS)]

    facts = machine_facts()
    load_before = load_average()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as work:
        runner = Runner(work, args.config, args.overrides, args.warmup, args.steps, args.timeout, sys.stderr)
        rows = measure(parts, runner, data_dir, batch_size)
    facts["load average (1 min) before, after"] = f"{load_before}, {load_average()}"
    facts["wall time"] = f"{time.monotonic() - start:.0f} s"
    print("\n".join(f"- {key}: {value}" for key, value in facts.items()))
    print(f"DDIM from {args.config}, data {data_dir}, {args.warmup} warm-up + {args.steps} timed steps per run")
    print(format_table(rows))
    write_results(args.json, "scale", rows)
    failed = [row for row in rows if "error" in row]
    if failed:
        print(f"{len(failed)} run(s) failed: " + "; ".join(row["setting"] for row in failed), file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    """CLI entry point; returns 0, 1 if a run failed, or 2 for bad arguments or data."""
    from common.cli import config_parser, exit_status

    parser = config_parser("python -m benchmarks.scale", __doc__.split("\n\n")[0],
                           config_help=f"YAML file of DDIM config keys (default {DEFAULT_CONFIG})")
    parser.set_defaults(config=DEFAULT_CONFIG)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=None, help="parts to run (default all)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per run (default 2)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per run (default 5)")
    parser.add_argument("--quick", action="store_true", help="1 warm-up and 1 timed step per run (a smoke test)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds one run (or the pair of workers) may take before it is killed (default 600)")
    add_json_argument(parser)
    return exit_status(run, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
