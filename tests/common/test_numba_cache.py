"""librosa's numba cache survives concurrent first use (common/numba_cache.py; numba issue 10128).

Before the fix, two processes compiling librosa's cached gufuncs at once could
leave a kernel and its ufunc wrapper from different processes; every later call
of ``onset_detect`` or ``beat_track`` then died with a segmentation fault. These
tests run the real thing in subprocesses on empty caches (each cold compile
takes about 20 s), so they are the slowest in the suite.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import numba_cache
from tests.conftest import write_tones

ROOT = Path(__file__).resolve().parents[2]

# Fresh processes calling what crashed: onset detection (peak_pick, localmax) and beat tracking.
PROBE = (
    "import numpy as np, librosa\n"
    "y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)\n"
    "librosa.onset.onset_detect(y=y, sr=8000)\n"
    "librosa.beat.beat_track(y=y, sr=8000)\n"
    "librosa.zero_crossings(y)\n"
    "print('ok')\n"
)


def _env(cache_dir, **extra):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    env.update(extra)
    return env


def _pipeline_command(audio_dir, output_dir):
    """The real CLI with two workers, on tiny tone files."""
    overrides = [
        "source=folder", f"input_dir={audio_dir}", f"output_dir={output_dir}", "sample_rate=8000", "n_fft=256",
        "win_length=256", "hop_length=64", "clip_duration_s=1.024", "num_workers=2",
    ]
    command = [sys.executable, "-m", "preprocessing.run", "--config", str(ROOT / "configs" / "chorales_stft.yaml")]
    for override in overrides:
        command += ["--set", override]
    return command


@pytest.mark.parametrize("stagger_s", [(0.0, 1.0, 2.5), (0.0, 2.0, 5.0)])
def test_pipelines_started_together_on_an_empty_cache_leave_a_cache_that_works(tmp_path, stagger_s):
    """Three 2-worker pipelines started a second or two apart on an empty cache, then fresh probes.

    Staggered starts are what broke the cache: a process that starts while another
    is halfway through compiling loads some kernels from the cache and compiles the
    rest under other ABI tags. Measured on the code before the fix: this test
    failed (a probe or a pipeline died with SIGSEGV) in most runs.
    """
    audio = write_tones(tmp_path / "audio", count=6, seconds=3.0)
    cache = tmp_path / "numba"
    env = _env(cache)
    processes = []
    for k, delay in enumerate(stagger_s):
        time.sleep(delay - (stagger_s[k - 1] if k else 0.0))
        processes.append(
            subprocess.Popen(
                _pipeline_command(audio, tmp_path / f"out{k}"), cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
        )
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, f"pipeline exited {process.returncode}: {stderr[-1500:]}"
    for _ in range(2):
        probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
        assert probe.returncode == 0, f"probe exited {probe.returncode} (-11 is SIGSEGV): {probe.stderr[-1500:]}"
        assert probe.stdout.strip() == "ok"
    assert (cache / numba_cache.STAMP_NAME).is_file()


def test_an_unstamped_cache_is_rebuilt_and_librosa_in_tree_caches_are_not_read(tmp_path):
    """A cache folder without the stamp (e.g. left broken by the old code) is emptied of librosa's entries
    and filled again; numba then writes librosa's kernels there, not into librosa's ``__pycache__``."""
    librosa_dir = numba_cache._package_dir("librosa")
    cache = tmp_path / "numba"
    stale = cache / numba_cache._cache_subdir(librosa_dir / "util") / "utils._localmax-0.py311.1.nbc"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not a numba cache file")
    other = cache / "someone_else_0123" / "theirs.nbc"  # another library's entry in a shared NUMBA_CACHE_DIR
    other.parent.mkdir(parents=True)
    other.write_bytes(b"kept")

    code = (
        "import sys, numba.core.config as config\n"
        "import preprocessing  # runs prepare_numba_cache\n"
        "print(config.CACHE_DIR)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(cache), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip().splitlines()[-1] == str(cache)
    assert not stale.exists()
    assert other.read_bytes() == b"kept"
    assert (cache / numba_cache.STAMP_NAME).is_file()
    written = list((cache / numba_cache._cache_subdir(librosa_dir / "util")).glob("guf-utils._localmax-*.nbc"))
    assert written, "librosa's gufuncs were not cached in NUMBA_CACHE_DIR"
    probe = subprocess.run([sys.executable, "-c", PROBE], env=_env(cache), capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-1500:]

    # a second process finds the stamp and compiles nothing (a much shorter import)
    started = time.perf_counter()
    again = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(cache), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and "Compiling" not in again.stderr
    assert time.perf_counter() - started < 60


def test_cache_key_changes_with_the_installed_packages(tmp_path):
    """The stamp is tied to librosa's and numba's install (folder and modification time) and Python's version."""
    librosa_dir, numba_dir = numba_cache._package_dir("librosa"), numba_cache._package_dir("numba")
    key = numba_cache.cache_key(librosa_dir, numba_dir)
    (tmp_path / numba_cache.STAMP_NAME).write_text(__import__("json").dumps(dict(key, seconds=1.0)))
    assert numba_cache._stamp_matches(tmp_path, key)
    assert not numba_cache._stamp_matches(tmp_path, dict(key, librosa_mtime_ns=key["librosa_mtime_ns"] + 1))
    assert not numba_cache._stamp_matches(tmp_path / "missing", key)


def test_cache_subdir_is_numbas_own_naming():
    """`_cache_subdir` names the folder numba itself uses for a source folder (numba's locator)."""
    from numba.core.caching import UserProvidedCacheLocator

    librosa_dir = numba_cache._package_dir("librosa")
    source = librosa_dir / "util" / "utils.py"
    assert UserProvidedCacheLocator.get_suitable_cache_subpath(str(source)) == numba_cache._cache_subdir(source.parent)
