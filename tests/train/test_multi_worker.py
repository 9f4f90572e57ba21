"""``strategy: multi_worker``: two worker processes on 127.0.0.1 train in lockstep (issue 5).

Each worker runs ``python -m train.diffusion`` with its own ``TF_CONFIG``; a small
driver around it saves the worker's final network weights so the test can compare
them with each other and with one process trained on the same global batch.
"""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from train.strategy import local_worker_addresses

ROOT = Path(__file__).resolve().parents[2]
# the training CLI, with the final weights of every worker dumped to <WEIGHTS_OUT>.npz
DRIVER = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from train import diffusion, loop

    original = diffusion.fit_on_data

    def fit_and_dump(model, *args, **kwargs):
        result = original(model, *args, **kwargs)
        np.savez(os.environ["WEIGHTS_OUT"], *[np.asarray(w) for w in model.network.get_weights()])
        return result

    diffusion.fit_on_data = fit_and_dump
    sys.exit(diffusion.main(sys.argv[1:]))
    """
)
TINY = ["widths=[8,16]", "block_depth=1", "attention_levels=[1]", "embedding_dims=8", "num_heads=2",
        "batch_size=4", "epochs=1", "steps_per_epoch=3", "validation_batches=1", "sampling_steps=2"]


def _argv(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


def _start(pairs, weights, tf_config=None):
    """Start the driver; its stdout and stderr go to files beside ``weights`` (a full pipe would block
    one worker while the test waits on the other, and the other waits on it in a collective)."""
    env = dict(os.environ, WEIGHTS_OUT=str(weights), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    stem = Path(weights).with_suffix("")
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, *_argv(pairs)], cwd=ROOT, env=env,
        stdout=open(f"{stem}.out", "w"), stderr=open(f"{stem}.err", "w"), text=True,
    )
    process.logs = (Path(f"{stem}.out"), Path(f"{stem}.err"))
    return process


def _finish(process, timeout=300):
    """Wait for ``process``; return its ``(stdout, stderr)`` text (killed if it outlives ``timeout``)."""
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return tuple(path.read_text() for path in process.logs)


def _weights(path):
    with np.load(path) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]


def test_two_workers_train_like_one_worker_on_the_global_batch(tiny_dataset, tmp_path):
    workers = local_worker_addresses(2)
    run = tmp_path / "two"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run}", "strategy=multi_worker", "worker_timeout_s=60"] + TINY
    processes = [
        _start(pairs, tmp_path / f"worker{i}.npz", {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
        for i in range(2)
    ]
    outputs = [_finish(p) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    assert "2 replica(s)" in outputs[0][0]
    # only the chief (worker 0) writes the run folder
    assert (run / "network.keras").is_file() and (run / "checkpoints" / "checkpoint.npz").is_file()
    assert "Saved the model" in outputs[0][0] and "Saved the model" not in outputs[1][0]

    single = _start([f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'one'}", "strategy=default"] + TINY,
                    tmp_path / "single.npz")
    out, err = _finish(single)
    assert single.returncode == 0, err[-3000:]

    chief, other, alone = (_weights(tmp_path / name) for name in ("worker0.npz", "worker1.npz", "single.npz"))
    assert all(np.array_equal(a, b) for a, b in zip(chief, other))  # lockstep: identical weights
    start = _weights_at_init(tmp_path, tiny_dataset)
    moved = max(float(np.max(np.abs(a - s))) for a, s in zip(alone, start))
    differ = max(float(np.max(np.abs(a - b))) for a, b in zip(chief, alone))
    print(f"largest weight change {moved:.3g}, two workers vs one {differ:.3g}")
    assert moved > 1e-3  # training changed the weights ...
    assert differ < 1e-4  # ... and two workers changed them as one worker did (9.5e-7 measured)


def _weights_at_init(tmp_path, tiny_dataset):
    """Weights of the same config after 0 steps (epochs=1 with max 0 steps is not allowed; use a fresh build)."""
    script = textwrap.dedent(
        """
        import sys, numpy as np, keras
        from common.config import load_config
        from train.config import DiffusionTrainConfig
        from train.data import SpectrogramData
        from train.diffusion import build_model
        pairs = dict(p.split("=", 1) for p in sys.argv[2:])
        import yaml
        config = load_config(DiffusionTrainConfig, None, {k: yaml.safe_load(v) for k, v in pairs.items()})
        keras.utils.set_random_seed(config.seed)
        data = SpectrogramData(config.data_dir)
        model = build_model(config, data.clip_shape(), *data.moments("train", seed=config.seed))
        np.savez(sys.argv[1], *[np.asarray(w) for w in model.network.get_weights()])
        """
    )
    out = tmp_path / "init.npz"
    subprocess.run([sys.executable, "-c", script, str(out), f"data_dir={tiny_dataset}", "strategy=default", *TINY],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    return _weights(out)


@pytest.mark.parametrize(
    "tf_config, message",
    [("{not json", "not valid JSON"), ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}',
                                        "task is not in its cluster")],
)
def test_bad_tf_config_fails_at_once(tiny_dataset, tmp_path, tf_config, message):
    env = dict(os.environ, TF_CONFIG=tf_config)
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'r'}", "strategy=multi_worker"] + TINY
    result = subprocess.run([sys.executable, "-m", "train.diffusion", *_argv(pairs)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "TF_CONFIG" in result.stderr


def test_unreachable_worker_fails_within_the_timeout(tiny_dataset, tmp_path):
    workers = local_worker_addresses(2)  # worker 1 is never started
    tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": 0}}
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'r'}", "strategy=multi_worker", "worker_timeout_s=3"] + TINY
    start = time.monotonic()
    process = _start(pairs, tmp_path / "w.npz", tf_config)
    out, err = _finish(process, timeout=120)
    assert process.returncode == 2, err[-2000:]
    assert "unreachable" in err and workers[1] in err
    assert time.monotonic() - start < 90
    assert not (tmp_path / "r" / "network.keras").exists()
