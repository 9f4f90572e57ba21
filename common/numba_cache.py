"""librosa's numba kernels: one on-disk cache, filled by one process at a time.

Why this exists. librosa compiles its ``@guvectorize``/``@vectorize`` kernels with
``cache=True`` when its modules are imported (``librosa.util.utils._localmax``,
``__peak_pick``, ``librosa.beat.__beat_track_dp``, ...). numba stores each gufunc
in two cache files, the kernel (``*.nbc``) and its ufunc wrapper (``guf-*.nbc``),
and the native symbol that links them carries an ABI tag numbered in the order
the process compiled its functions. Two processes compiling at once (the
preprocessing pool's workers, a test and a subprocess) can leave a kernel from
one process beside a wrapper from the other; from then on every process that
loads the pair crashes with a segmentation fault until the files are deleted
(numba issue 10128; librosa issue 1998 shows it in ``beat_track``). Measured here
before this module: two processes importing librosa on an empty cache, the
second started 1-7 s after the first, left a crashing cache in 3 of 8 rounds.

What it does. `prepare_numba_cache` runs when any of the project's packages is
imported, before anything imports librosa:

1. It points numba at one cache folder, ``NUMBA_CACHE_DIR`` (a value the user
   set is kept; else ``$XDG_CACHE_HOME/spectrogram-music/numba``, by default
   ``~/.cache/spectrogram-music/numba``). numba then reads no other cache, so a
   broken cache left in librosa's own ``__pycache__`` by an earlier version of
   this project is never loaded again.
2. If that folder holds no complete cache for the installed librosa, numba and
   Python (a stamp file says so), it takes an exclusive lock on the folder,
   deletes librosa's entries (and librosa's in-tree numba files, the ones an
   earlier version may have broken), imports the librosa modules that compile
   cached kernels and runs the lazily compiled ones our code uses (STFT,
   inverse STFT, onset detection, beat tracking), writes the stamp and releases
   the lock. Other processes wait on the lock, then find the stamp.

So the cache is written once per environment by one process (about 15-20 s on
a 2-core CPU, announced on stderr), and every later process only reads it.
A warm-up killed halfway writes no stamp, so the next process starts it again
from an empty folder.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

CACHE_ENV = "NUMBA_CACHE_DIR"
STAMP_NAME = "librosa-cache.json"
LOCK_NAME = "librosa-cache.lock"

# librosa modules holding @guvectorize/@vectorize(cache=True) kernels, compiled at import
_EAGER_MODULES = ("librosa.util.utils", "librosa.core.audio", "librosa.core.pitch", "librosa.beat", "librosa.onset")

_prepared = None  # the cache folder once this process has prepared it


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/spectrogram-music/numba`` (``~/.cache/...`` when XDG_CACHE_HOME is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "spectrogram-music" / "numba"


def _package_dir(name):
    spec = importlib.util.find_spec(name)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def cache_key(librosa_dir, numba_dir) -> dict:
    """What a complete cache was made for: librosa's and numba's folders and install times, and Python's version.

    Reinstalling or upgrading either package changes its ``__init__.py``'s modification time.
    Cheap: two ``stat`` calls (``importlib.metadata`` alone takes 0.09 s to import).
    """
    return {
        "librosa_dir": str(librosa_dir),
        "librosa_mtime_ns": (Path(librosa_dir) / "__init__.py").stat().st_mtime_ns,
        "numba_dir": str(numba_dir),
        "numba_mtime_ns": (Path(numba_dir) / "__init__.py").stat().st_mtime_ns,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


def _stamp_matches(cache_dir, key) -> bool:
    try:
        stamp = json.loads((Path(cache_dir) / STAMP_NAME).read_text())
        return {name: stamp.get(name) for name in key} == key
    except (OSError, ValueError, AttributeError):
        return False


def _cache_subdir(source_dir) -> str:
    """numba's folder, inside ``NUMBA_CACHE_DIR``, for the functions of the modules in ``source_dir``.

    The same name as numba's ``_CacheLocator.get_suitable_cache_subpath``: the folder's
    name, ``_``, and the SHA-1 of its absolute path.
    """
    source_dir = os.path.abspath(source_dir)
    return f"{os.path.basename(source_dir)}_{hashlib.sha1(source_dir.encode()).hexdigest()}"


def _remove_librosa_entries(cache_dir, librosa_dir):
    """Delete every numba cache entry of librosa: in ``cache_dir``, and in librosa's own ``__pycache__``."""
    for folder, subfolders, _ in os.walk(librosa_dir):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        shutil.rmtree(Path(cache_dir) / _cache_subdir(folder), ignore_errors=True)
        in_tree = Path(folder) / "__pycache__"
        for pattern in ("*.nbi", "*.nbc"):
            for path in in_tree.glob(pattern):
                with contextlib.suppress(OSError):  # a read-only site-packages keeps its files; they are not read
                    path.unlink()


def _compile_librosa():
    """Import librosa's eagerly compiled kernels and run the lazily compiled ones the project uses."""
    import importlib

    import numpy as np

    for name in _EAGER_MODULES:
        importlib.import_module(name)
    import librosa

    signal = np.sin(np.linspace(0, 400 * np.pi, 8192)).astype(np.float32)
    spectrum = librosa.stft(signal, n_fft=512, hop_length=128)
    librosa.istft(spectrum, hop_length=128, n_fft=512, length=signal.shape[0])  # Griffin-Lim's overlap-add
    librosa.onset.onset_detect(y=signal, sr=8000)
    librosa.beat.beat_track(y=signal, sr=8000)


@contextlib.contextmanager
def _exclusive_lock(path):
    """Hold an exclusive advisory lock on ``path`` (``fcntl.flock``; no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the set-up scripts support Linux and macOS only
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _writable_dir(path) -> bool:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        return os.access(path, os.W_OK)
    except OSError:
        return False


def prepare_numba_cache(quiet=False):
    """Point numba at one cache folder and make sure librosa's kernels in it were written by one process.

    Cheap after the first time in an environment (one small file read); the first
    process fills the cache under a lock (see the module docstring). Idempotent
    within a process.

    Args:
        quiet: do not announce the one-time compilation on stderr.
    Returns:
        The cache folder (``Path``), or None when librosa is not installed or no
        writable folder could be found (numba's own default then applies).
    """
    global _prepared
    if _prepared is not None:
        return _prepared
    librosa_dir, numba_dir = _package_dir("librosa"), _package_dir("numba")
    if librosa_dir is None or numba_dir is None:
        return None
    cache_dir = Path(os.environ.get(CACHE_ENV) or default_cache_dir())
    if not _writable_dir(cache_dir):
        return None
    os.environ[CACHE_ENV] = str(cache_dir)  # inherited by worker processes and subprocesses
    if "numba.core.config" in sys.modules:  # numba read its environment already: tell it too
        sys.modules["numba.core.config"].CACHE_DIR = str(cache_dir)
    key = cache_key(librosa_dir, numba_dir)
    if not _stamp_matches(cache_dir, key):
        with _exclusive_lock(cache_dir / LOCK_NAME):
            if not _stamp_matches(cache_dir, key):  # another process may have filled it while we waited
                if not quiet:
                    print(
                        f"Compiling librosa's numba kernels once for this environment into {cache_dir} "
                        "(about 20 s)...", file=sys.stderr, flush=True,
                    )
                started = time.perf_counter()
                (cache_dir / STAMP_NAME).unlink(missing_ok=True)
                _remove_librosa_entries(cache_dir, librosa_dir)
                _compile_librosa()
                import importlib.metadata

                versions = {name: importlib.metadata.version(name) for name in ("librosa", "numba")}
                stamp = dict(key, versions=versions, seconds=round(time.perf_counter() - started, 1))
                tmp = cache_dir / f".{STAMP_NAME}.{os.getpid()}"
                tmp.write_text(json.dumps(stamp, indent=2) + "\n")
                os.replace(tmp, cache_dir / STAMP_NAME)
    _prepared = cache_dir
    return cache_dir
