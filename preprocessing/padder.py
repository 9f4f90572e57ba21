"""Padding arrays along their last axis (time) with `numpy.pad`."""

import numpy as np

from common.errors import ParameterError


class Padder:
    """Pad an array at the start or end of its last axis.

    Args:
        mode: a `numpy.pad` mode; "constant" (default) pads with zeros.
    """

    def __init__(self, mode="constant"):
        self.mode = mode

    def _pad(self, array, before, after):
        array = np.asarray(array)
        if array.ndim == 0:
            raise ParameterError(f"Cannot pad a 0-D array. Received: array.shape={array.shape}")
        widths = [(0, 0)] * (array.ndim - 1) + [(before, after)]
        return np.pad(array, widths, mode=self.mode)

    @staticmethod
    def _check_n(n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ParameterError(f"Pad width must be an integer >= 0. Received: n={n!r}")

    def left_pad(self, array, n):
        """Prepend ``n`` samples to the last axis.

        Args:
            array: array of shape `(..., length)`, any dtype.
            n: int >= 0, number of samples to add.
        Returns:
            Array of the same dtype, shape `(..., length + n)`.
        Raises:
            ParameterError: if ``n`` is negative or not an integer, or ``array`` is 0-D.
        """
        self._check_n(n)
        return self._pad(array, n, 0)

    def right_pad(self, array, n):
        """Append ``n`` samples to the last axis; see `left_pad`."""
        self._check_n(n)
        return self._pad(array, 0, n)

    def pad_to(self, array, length):
        """Right-pad the last axis up to ``length`` samples.

        Args:
            array: array of shape `(..., current)`, ``current <= length``.
            length: int >= 0, the target length.
        Returns:
            Array of the same dtype, shape `(..., length)`.
        Raises:
            ParameterError: if ``array`` is already longer than ``length``.
        """
        array = np.asarray(array)
        self._check_n(length)
        if array.ndim == 0:
            raise ParameterError(f"Cannot pad a 0-D array. Received: array.shape={array.shape}")
        if array.shape[-1] > length:
            raise ParameterError(
                f"Array is longer than the target length {length}. Received: array.shape={array.shape}"
            )
        return self.right_pad(array, length - array.shape[-1])
