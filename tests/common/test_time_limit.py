"""Tests for common.time_limit: a block that runs too long is interrupted, and the signal state is restored."""

import signal
import threading
import time

import pytest

from common.errors import ParameterError
from common.time_limit import TimeLimitExceeded, time_limit, time_limit_available


def _spin(seconds):
    """A Python loop (interruptible, unlike one long call into C) that runs for ``seconds``."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_block_that_runs_too_long_is_interrupted_and_the_handler_restored():
    assert time_limit_available()  # pytest runs tests in the main thread
    previous = signal.getsignal(signal.SIGALRM)
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match="time limit of 0.05 s exceeded") as caught:
        with time_limit(0.05):
            _spin(5.0)
    assert time.perf_counter() - started < 2.0
    assert caught.value.seconds == 0.05
    assert signal.getsignal(signal.SIGALRM) is previous
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_block_that_ends_in_time_stops_the_timer():
    with time_limit(0.2):
        _spin(0.01)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    time.sleep(0.3)  # had the timer been left running, SIGALRM would end the test here


def test_an_exception_in_the_block_passes_through_and_stops_the_timer():
    with pytest.raises(KeyError):
        with time_limit(10.0):
            raise KeyError("inside")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_no_limit_for_none_and_outside_the_main_thread():
    previous = signal.getsignal(signal.SIGALRM)
    with time_limit(None):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is previous
    outcome = []

    def worker():
        outcome.append(time_limit_available())
        with time_limit(0.01):  # signals reach only the main thread: not bounded, and no error
            _spin(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert outcome == [False, "finished"]


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_seconds_are_rejected(seconds):
    with pytest.raises(ParameterError, match="Received: seconds="):
        with time_limit(seconds):
            pass
