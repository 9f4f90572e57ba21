"""What every CLI shares: ``--config FILE`` / ``--set key=value`` parsing, and exit status 2 on bad input."""

import argparse
import sys

from common.config import load_config, parse_overrides
from common.errors import ParameterError


def config_parser(prog, description, epilog="", config_help="YAML file of config keys (omitted: the built-in defaults)"):
    """An ``ArgumentParser`` with ``--config`` (default None; ``config_help`` is its help) and repeatable ``--set KEY=VALUE``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=None, help=config_help)
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one config key after the file; repeatable; values are read as YAML, e.g. --set widths=[16,32]",
    )
    return parser


def config_from_args(cls, args):
    """The frozen config dataclass ``cls`` from parsed ``--config``/``--set`` arguments.

    Raises:
        ParameterError: for a missing config file, an unknown key or a wrong type.
    """
    return load_config(cls, args.config, parse_overrides(args.overrides))


def exit_status(job, *args, **kwargs):
    """Run ``job``; return its result if it is an int (else 0), or 2 after printing a `ParameterError`.

    The error goes to stderr as one line, ``error: <message>``, with no traceback:
    it is the user's input that is wrong, and the message names it.
    """
    try:
        status = job(*args, **kwargs)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0
