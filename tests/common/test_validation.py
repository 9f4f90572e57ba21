"""Tests for common.validation: each check returns the clean value or raises ParameterError naming it."""

import numpy as np
import pytest

from common.errors import ParameterError
from common.validation import finite_number, flag, integer, positive_int


@pytest.mark.parametrize(
    "value, low, high",
    [(0, None, None), (-5, None, None), (8000, 8000, 96000), (96000, 8000, 96000), (np.int64(3), 1, None), (5, None, 5)],
)
def test_integer_accepts_integers_in_range(value, low, high):
    result = integer("n", value, low, high)
    assert result == value and type(result) is int


@pytest.mark.parametrize(
    "value, low, high, message",
    [
        (True, None, None, "n must be an integer. Received: n=True"),
        (1.0, None, None, "n must be an integer. Received: n=1.0"),
        ("3", None, None, "n must be an integer. Received: n='3'"),
        (None, 0, None, "n must be an integer. Received: n=None"),
        (7999, 8000, 96000, r"n must be in \[8000, 96000\]. Received: n=7999"),
        (96001, 8000, 96000, r"n must be in \[8000, 96000\]. Received: n=96001"),
        (0, 1, None, "n must be >= 1. Received: n=0"),
        (6, None, 5, "n must be <= 5. Received: n=6"),
    ],
)
def test_integer_rejects_with_a_message_naming_the_value(value, low, high, message):
    with pytest.raises(ParameterError, match=f"^{message}$"):
        integer("n", value, low, high)


def test_positive_int_finite_number_and_flag():
    assert positive_int("n", np.int32(2)) == 2
    with pytest.raises(ParameterError, match="Received: n=0"):
        positive_int("n", 0)
    assert finite_number("x", 0.5, 0.0, 1.0) == 0.5
    assert finite_number("x", 0, 0.0, low_open=False) == 0.0
    with pytest.raises(ParameterError, match=r"x must be a finite number > 0\. Received: x=0"):
        finite_number("x", 0, 0.0)
    with pytest.raises(ParameterError, match="Received: x=True"):
        finite_number("x", True)
    assert flag("f", np.bool_(True)) is True
    with pytest.raises(ParameterError, match="Received: f=1"):
        flag("f", 1)
