"""Where a DDIM's network call spends its time: TensorFlow's profiler, summed by op type and by op.

Usage:
    python -m benchmarks.network_profile                      # the default DDIM, batch 4, its precision
    python -m benchmarks.network_profile --model saved_models/chorales_ddim --batch 4 --precision float32

Calls the run's sampling network (the EMA network, in the run's sampling precision or
``--precision``) on a batch of ``--batch`` standard-normal inputs at noise variance 0.5 in a
``tf.function``: ``--warmup`` calls, then ``--calls`` timed calls (the wall milliseconds per
call: the median of the calls), then the same calls again under ``tf.profiler``, whose trace
(the ``.xplane.pb`` in a temporary folder) is read back: every TensorFlow op's execution,
summed per op type and per op name, in milliseconds per call. Two CPU threads run ops at once,
so the op times add up to more than the wall time; their shares still say where the time
goes (e.g. the convolutions against the normalization's reductions: docs/BENCHMARKS.md,
"Group normalization").
"""

import argparse
import collections
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.report import add_json_argument, print_peak_rss, significant, write_results
from common.cli import exit_status
from common.errors import ParameterError
from generate.sounds import DEFAULT_MODEL
from generate.trained_model import TrainedModel, add_precision_argument

NOISE_VARIANCE = 0.5  # the network's second input; the op times do not depend on it


def op_times(trace_dir):
    """Seconds per op type and per op name in a ``tf.profiler`` trace folder.

    Args:
        trace_dir: the folder ``tf.profiler.experimental.start`` wrote to.
    Returns:
        ``(by_type, by_name)``: two ``collections.Counter`` of seconds, summed over every
        execution of every TensorFlow op in the trace (events named ``"scope/op:OpType"``).
    Raises:
        ParameterError: if the folder holds no ``.xplane.pb`` trace.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(Path(trace_dir).rglob("*.xplane.pb"))
    if not paths:
        raise ParameterError(f"The profiler wrote no trace. Received: trace_dir={str(trace_dir)!r}")
    space = xplane_pb2.XSpace()
    space.ParseFromString(paths[-1].read_bytes())
    by_type, by_name = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name and "/" in name:  # a TensorFlow op: "scope/op_name:OpType"
                    op_name, op_type = name.rsplit(":", 1)
                    by_type[op_type] += event.duration_ps * 1e-12
                    by_name[op_name] += event.duration_ps * 1e-12
    return by_type, by_name


def measure(model_dir, batch=4, calls=10, warmup=3, precision=None):
    """Profile ``calls`` network calls (module docstring).

    Args:
        model_dir: a DDIM run folder.
        batch: int >= 1, inputs per call.
        calls: int >= 1, calls timed and then profiled.
        warmup: int >= 1, calls before (tracing).
        precision: the network's precision (`models.precision.PRECISIONS`), or None for the run's.
    Returns:
        dict: ``setting`` (str), ``wall_ms`` (median ms per call), ``by_type`` and ``by_name``
        (lists of ``(name, ms per call)``, largest first).
    Raises:
        ParameterError: for a folder that is not a DDIM run, or an argument out of range.
    """
    if batch < 1 or calls < 1 or warmup < 1:
        raise ParameterError(f"--batch, --calls and --warmup must be >= 1. "
                             f"Received: batch={batch}, calls={calls}, warmup={warmup}")
    import tensorflow as tf

    model = TrainedModel(model_dir, precision=precision)
    if model.kind != "ddim":
        raise ParameterError(f"The network profile needs a DDIM. Received: model_dir={str(model_dir)!r}")
    network = model.model.ema_network
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((batch, *model.data_shape)).astype("float32"),
              np.full((batch, 1, 1, 1), NOISE_VARIANCE, "float32")]
    inputs += [np.zeros((batch, *i.shape[1:]), i.dtype) for i in network.inputs[2:]]  # conditions: none
    inputs = [tf.constant(i) for i in inputs]
    call = tf.function(lambda xs: network(xs, training=False))
    for _ in range(warmup):
        call(inputs)
    wall = []
    for _ in range(calls):
        start = time.perf_counter()
        call(inputs)
        wall.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory(prefix="network_profile_") as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        for _ in range(calls):
            call(inputs)
        tf.profiler.experimental.stop()
        by_type, by_name = op_times(trace_dir)
    per_call = lambda counter: [(name, significant(1000 * s / calls, 3)) for name, s in counter.most_common()]  # noqa: E731
    return {"setting": f"{Path(model_dir).name}, batch {batch}, {model.precision}",
            "wall_ms": significant(1000 * statistics.median(wall), 4),
            "by_type": per_call(by_type), "by_name": per_call(by_name)}


def run(args):
    """Profile, print the tables and write the JSON; returns 0."""
    result = measure(args.model, args.batch, args.calls, args.warmup, args.precision)
    total = sum(ms for _, ms in result["by_type"]) or 1.0
    print(f"{result['setting']}: {result['wall_ms']:g} ms per call (wall, median of {args.calls}); "
          f"ops {total:.1f} ms per call summed over both threads")
    print(f"{'op type':<36} {'ms per call':>12} {'share':>7}")
    for name, ms in result["by_type"][:args.top]:
        print(f"{name:<36} {ms:>12.2f} {100 * ms / total:>6.1f}%")
    print(f"\n{'op':<80} {'ms per call':>12}")
    for name, ms in result["by_name"][:args.top]:
        print(f"{name[-80:]:<80} {ms:>12.2f}")
    print_peak_rss()
    write_results(args.json, "network profile", [
        {"setting": result["setting"], "figures": {"wall ms": result["wall_ms"], **dict(result["by_type"][:args.top])}}
    ])
    return 0


def main(argv=None):
    """CLI entry point; returns the exit status (0, or 2 for a bad model folder or argument)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"DDIM run folder (default {DEFAULT_MODEL})")
    parser.add_argument("--batch", type=int, default=4, help="inputs per call (default 4: a 10 s piece's windows)")
    parser.add_argument("--calls", type=int, default=10, help="calls timed, then profiled (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="calls before (default 3)")
    parser.add_argument("--top", type=int, default=15, help="rows of each table (default 15)")
    add_precision_argument(parser)
    add_json_argument(parser)
    return exit_status(run, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
