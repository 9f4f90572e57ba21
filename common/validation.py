"""Argument checks shared across the project: each returns the clean value or raises `ParameterError` naming it."""

import math

import numpy as np

from common.errors import ParameterError


def positive_int(name, value):
    """``int(value)`` if it is an integer > 0 (not a bool), else ParameterError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def integer(name, value, low=None, high=None):
    """``int(value)`` if it is an integer (Python or NumPy, not a bool) in ``[low, high]``, else ParameterError.

    Args:
        name: str, the argument's name, used in the message.
        value: the value to check.
        low: int or None: the inclusive lower bound (None: unbounded).
        high: int or None: the inclusive upper bound (None: unbounded).
    Returns:
        int.
    Raises:
        ParameterError: ``"<name> must be an integer."`` for a non-integer, or
            ``"<name> must be in [low, high]."`` (or ``">= low"``, ``"<= high"``) when out of range,
            ending in ``Received: <name>=<value>``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer. Received: {name}={value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"in [{low}, {high}]"
        else:
            bounds = f">= {low}" if low is not None else f"<= {high}"
        raise ParameterError(f"{name} must be {bounds}. Received: {name}={value!r}")
    return int(value)


def finite_number(name, value, low=None, high=None, low_open=True):
    """``float(value)`` if it is a real finite number in the range, else ParameterError.

    Args:
        low: lower bound or None; exclusive when ``low_open`` (default), else inclusive.
        high: inclusive upper bound or None.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        number = math.nan
    else:
        number = float(value)
    below = low is not None and (number <= low if low_open else number < low)
    if not math.isfinite(number) or below or (high is not None and number > high):
        low_text = "" if low is None else f" {'>' if low_open else '>='} {low:g}"
        high_text = "" if high is None else f" and <= {high:g}"
        raise ParameterError(f"{name} must be a finite number{low_text}{high_text}. Received: {name}={value!r}")
    return number


def flag(name, value):
    """``bool(value)`` if it is a bool (Python or NumPy), else ParameterError."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)
