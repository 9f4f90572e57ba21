"""What every benchmark script shares: its peak memory, the CPU time others took, and the JSON file `benchmarks.suite` reads.

A benchmark prints its own table for people and, given ``--json PATH``,
also writes its figures as::

    {"benchmark": "training",
     "rows": [{"setting": "DDIM, batch 16", "figures": {"s/step": 1.31, "samples/s": 12.2}}, ...],
     "peak_rss_mb": 1843.2}

Usage (inside a benchmark's ``main``)::

    add_json_argument(parser)
    ...
    print_peak_rss()
    write_results(args.json, "training", rows)
"""

import math
import os
import resource
import sys
import threading
from pathlib import Path

from common.atomic import atomic_write_json


def significant(value, digits=4) -> float:
    """``value`` rounded to ``digits`` significant digits, its integer part kept whole.

    For figures: 0.0031234 -> 0.003123, 1.23456 -> 1.235, 11635.1 -> 11635.0.
    """
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(0, digits - 1 - math.floor(math.log10(abs(value)))))


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (2**20 bytes), from ``getrusage``.

    (Child processes are not counted: their ``RUSAGE_CHILDREN`` figure is no use
    here, since on Linux a child started by fork and exec inherits its parent's
    peak; see `TreeRssSampler` for a process pool.)
    """
    # ru_maxrss is in KiB on Linux and in bytes on macOS
    scale = 2.0**-20 if sys.platform == "darwin" else 2.0**-10
    return significant(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)


def print_peak_rss():
    """Print `peak_rss_mb` as one line."""
    print(f"peak RSS: {peak_rss_mb():.0f} MiB")


class TreeRssSampler:
    """Peak of the summed RSS of this process and all its descendants, sampled from ``/proc``.

    A context manager: a thread sums the resident pages of the process tree
    every ``interval_s`` seconds while the block runs; ``peak_mb`` is the
    largest sum seen, in MiB (None where there is no ``/proc``, e.g. macOS).
    Sampling can miss a peak shorter than the interval; one sample takes about
    3 ms of CPU with 70 processes running, 1% of a core at the default interval.

    Args:
        interval_s: float > 0, seconds between samples.
    """

    def __init__(self, interval_s=0.25):
        self.interval_s = interval_s
        self.peak_mb = None
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def _tree_rss_bytes():
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:  # the process ended meanwhile
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, ppid
        tree, frontier = {os.getpid()}, {os.getpid()}
        while frontier:
            children = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in tree}
            tree.update(children)
            frontier = children
        total = 0
        for pid in tree:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except OSError:
                continue
        return total

    def _sample(self):
        while True:
            self.peak_mb = max(self.peak_mb or 0.0, self._tree_rss_bytes() * 2.0**-20)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self):
        if Path("/proc/self/statm").is_file():
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mb = significant(self.peak_mb)
        return False


class CpuShares:
    """Where the machine's CPU time went while a block ran: stolen by the hypervisor, used by others.

    A context manager reading the ``cpu`` line of Linux's ``/proc/stat`` (all
    cores, in clock ticks) before and after the block, and this process's own
    CPU seconds (``os.times``). On a virtual machine, *steal* is time a core
    was ready to run but the hypervisor ran someone else's: a benchmark's
    seconds mean little when it is large (one 2-core host measured 44 %). After
    the block:

        steal_share   stolen ticks / all ticks, in [0, 1]
        others_share  busy ticks (user, nice, system, irq, softirq) not spent by
                      this process / all ticks, in [0, 1]: other processes' load

    Both are None where there is no ``/proc/stat`` (macOS, Windows).
    """

    _BUSY = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq
    _STEAL = 7

    def __init__(self):
        self.steal_share = None
        self.others_share = None
        self._start = None

    @staticmethod
    def _read():
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()
        except OSError:
            return None
        if fields[0] != "cpu":
            return None
        times = os.times()
        return [int(value) for value in fields[1:]], times.user + times.system

    def __enter__(self):
        self._start = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        if self._start is None or end is None:
            return False
        ticks = [after - before for after, before in zip(end[0], self._start[0])]
        total = sum(ticks[:8])  # guest time is already counted in user
        if total <= 0:
            return False
        own = (end[1] - self._start[1]) * os.sysconf("SC_CLK_TCK")
        busy = sum(ticks[i] for i in self._BUSY)
        self.steal_share = significant(ticks[self._STEAL] / total, 2)
        self.others_share = significant(min(max(busy - own, 0.0) / total, 1.0), 2)
        return False


def add_json_argument(parser):
    """Add ``--json PATH`` (where `write_results` writes; default: nowhere) to an ``ArgumentParser``."""
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to PATH as JSON")


def write_results(path, benchmark, rows):
    """Write one benchmark's figures and the current `peak_rss_mb` as JSON, atomically.

    Args:
        path: destination file, or None to write nothing.
        benchmark: str, the benchmark's name (e.g. ``"preprocessing"``).
        rows: list of ``{"setting": str, "figures": {unit: number}}`` (units such
            as ``"x real time"``, ``"s/step"``), in the order they were measured.
    Returns:
        The dict written (also when ``path`` is None).
    """
    result = {"benchmark": benchmark, "rows": rows, "peak_rss_mb": peak_rss_mb()}
    if path is not None:
        atomic_write_json(path, result, sort_keys=False)  # figures in measurement order
    return result
