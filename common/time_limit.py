"""A wall-clock limit on a block of code, so that a batch job can abandon an item that hangs.

The limit is a POSIX interval timer (``signal.setitimer``, ``SIGALRM``): when it
fires, `TimeLimitExceeded` is raised wherever the main thread is running Python
code (a parser's loop, a renderer's loop), and the job reports the item and goes
on with the next one. A single call into C that does not return is not
interrupted until it does.
"""

import contextlib
import signal
import threading

from common.validation import finite_number


class TimeLimitExceeded(Exception):
    """Raised inside a `time_limit` block when its time is up.

    Attributes:
        seconds: float > 0, the limit that was exceeded, in seconds.
    """

    def __init__(self, seconds):
        super().__init__(f"time limit of {seconds:g} s exceeded")
        self.seconds = seconds


def time_limit_available() -> bool:
    """Whether `time_limit` can bound the calling thread: POSIX timers exist and this is the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds):
    """Raise `TimeLimitExceeded` in the block if it runs longer than ``seconds``.

    Where `time_limit_available` is False (Windows, or a thread other than the
    main one, which cannot receive signals) and when ``seconds`` is None, the
    block runs without a limit. The previous ``SIGALRM`` handler is restored
    and the timer stopped when the block ends, however it ends. Limits do not
    nest: an inner block replaces the outer timer.

    Args:
        seconds: float > 0 or None, in seconds of wall-clock time.
    Raises:
        ParameterError: if ``seconds`` is not None and not a finite number > 0.
        TimeLimitExceeded: from inside the block, when the time is up.
    """
    if seconds is not None:
        seconds = finite_number("seconds", seconds, 0.0)
    if seconds is None or not time_limit_available():
        yield
        return

    def time_is_up(signum, frame):
        raise TimeLimitExceeded(seconds)

    previous_handler = signal.signal(signal.SIGALRM, time_is_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
