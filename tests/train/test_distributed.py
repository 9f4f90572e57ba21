"""The diffusion training CLI under MirroredStrategy over two logical CPU devices.

Runs in a subprocess because logical devices must be configured before
TensorFlow initialises, which the rest of the suite has already done.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

from models.sampler_folder import load_sampler

SCRIPT = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from train import diffusion
    sys.exit(diffusion.main(sys.argv[1:]))
    """
)


def test_mirrored_strategy_trains_on_two_replicas(tiny_dataset, tmp_path):
    run = tmp_path / "mirrored"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run}", "strategy=mirrored", "widths=[8,16]", "attention_levels=[1]",
             "num_heads=2", "embedding_dims=8", "epochs=1", "steps_per_epoch=2", "batch_size=4", "sampling_steps=2"]
    argv = [arg for pair in pairs for arg in ("--set", pair)]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], cwd=Path(__file__).resolve().parents[2],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replica(s)" in result.stdout
    assert load_sampler(run).generate(num_images=1, diffusion_steps=2).shape == (1, 128, 128, 1)
