"""Audio clips to musicnn embeddings: the features FAD and KID are computed on."""

import librosa
import numpy as np

from common.errors import ParameterError
from evaluation import musicnn


class MusicnnEmbedder:
    """Penultimate-layer musicnn embeddings of 3 s patches at 16 kHz.

    Each clip is resampled to 16 kHz (``librosa.resample``, soxr) if needed,
    turned into a float32 log-mel (`evaluation.musicnn.log_mel`) and cut into
    non-overlapping patches of ``patch_frames`` frames (187 = 2.99 s, the length
    musicnn was trained on); each patch gives one 200-d embedding. A 3.072 s
    model clip gives exactly one patch. The network pools over time, so shorter
    patches work too (scores made with different patch lengths do not compare).

    Args:
        model_name: one of `evaluation.musicnn.MODELS` (default "MSD_musicnn").
        patch_seconds: patch length in seconds, > 0 (3.0 gives 187 frames).
        batch_size: patches per forward pass.
    Raises:
        ParameterError: for patch_seconds <= 0, or see `evaluation.musicnn.load_musicnn`.
    """

    def __init__(self, model_name="MSD_musicnn", patch_seconds=3.0, batch_size=64):
        if not patch_seconds > 0:
            raise ParameterError(f"patch_seconds must be > 0. Received: patch_seconds={patch_seconds}")
        self.model_name = model_name
        self.patch_frames = musicnn.frames_for_seconds(patch_seconds)
        self.batch_size = int(batch_size)
        self.model = musicnn.load_musicnn(model_name)

    def patches(self, clips, sample_rate):
        """Log-mel patches of every clip, ``(total_patches, patch_frames, 96)`` float32."""
        out = []
        for index, clip in enumerate(clips):
            clip = np.asarray(clip, dtype=np.float32)
            if sample_rate != musicnn.SAMPLE_RATE:
                clip = librosa.resample(clip, orig_sr=sample_rate, target_sr=musicnn.SAMPLE_RATE)
            try:
                out.append(musicnn.patches(musicnn.log_mel(clip), self.patch_frames))
            except ParameterError as err:
                raise ParameterError(f"Clip {index} cannot be embedded: {err}") from err
        if not out:
            raise ParameterError("No clips to embed. Received: clips=[]")
        return np.concatenate(out)

    def embed(self, clips, sample_rate):
        """Embeddings of a set of clips.

        Args:
            clips: sequence of float mono arrays ``(n_samples,)`` at ``sample_rate``, each at
                least one patch long.
            sample_rate: Hz of every clip.
        Returns:
            float32 ``(total_patches, 200)``, in the network's post-BatchNorm units.
        Raises:
            ParameterError: for an empty set, or a clip that is too short or non-finite
                (the message gives its index).
        """
        patches = self.patches(clips, sample_rate)
        embeddings = self.model.predict(patches, batch_size=self.batch_size, verbose=0)["penultimate"]
        return np.asarray(embeddings, dtype=np.float32)
