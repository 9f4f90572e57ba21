"""Atomic file writes: write to a temporary name in the same folder, then rename.

A reader never sees a half-written file, and an interrupted job never leaves a
truncated file under the final name (``os.replace`` is atomic on POSIX).

Writes are durable by default: the data is fsync'ed before the rename, so it
also survives a power loss once the call returns. A job writing thousands of
files (the preprocessing pipeline's clips) passes ``durable=False`` and calls
`sync_to_disk` once before it writes the file that lists them: one fsync per
file costs milliseconds each on a virtual disk, one sync after the batch almost
nothing, since the kernel has written most of the data back by then.
"""

import contextlib
import itertools
import json
import os
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    For writers that want a file name (``model.save(tmp)``): the temporary file
    has the same suffix, is given the usual umask-derived mode, and is removed
    if the block raises. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_temporary_names = itertools.count()


@contextlib.contextmanager
def _atomic_file(path, durable):
    """Yield a binary file open on a new hidden temporary file beside ``path``; on success rename it to ``path``.

    The temporary file (``.<name>.<pid>.<n>.tmp``) is created with ``O_EXCL`` and the
    umask-derived mode: one create, the writes, one rename per file, a third of the
    system calls of ``mkstemp``, reopening and ``chmod`` (most of the preprocessing
    pipeline's time writing thousands of clips went there, docs/BENCHMARKS.md).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{next(_temporary_names)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:  # left by a killed process that had the same pid: take the next name
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
            elif hasattr(os, "posix_fadvise"):
                # start writing it back now (Linux: DONTNEED begins an asynchronous write-back
                # of dirty pages), so the caller's one `sync_to_disk` finds little left to wait for
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path, data: bytes, durable=True) -> Path:
    """Write ``data`` to ``path`` atomically; create parent folders as needed.

    Args:
        path: destination file (str or Path).
        data: the bytes to write.
        durable: fsync the data before the rename (default); False leaves the
            flush to the operating system (see the module docstring).
    Returns:
        The destination as a ``Path``.
    """
    with _atomic_file(path, durable) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, sort_keys=True) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (keys sorted, or in insertion order)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def atomic_save_npy(path, array: np.ndarray, durable=True) -> Path:
    """Save ``array`` in NumPy ``.npy`` format to ``path`` atomically (``durable`` as in `atomic_write_bytes`).

    ``np.save`` writes straight into the temporary file: the same bytes as ``np.save(path, array)``.
    """
    with _atomic_file(path, durable) as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    return Path(path)


def sync_to_disk():
    """Flush every file system's pending writes to disk (``os.sync``; a no-op where it does not exist).

    Call it after many ``durable=False`` writes, before writing the file that
    makes them part of a result (a manifest), so that file is never on disk
    before what it lists.
    """
    if hasattr(os, "sync"):
        os.sync()
