"""Argument parsing shared by the training CLIs: ``--config FILE`` and ``--set key=value``."""

import argparse

from common.config import load_config, parse_overrides


def parse_config(cls, description, argv=None):
    """Parse ``argv`` into the frozen config dataclass ``cls``.

    Raises:
        ParameterError: for a missing config file, unknown key or wrong type.
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML file of config keys (see README, 'Configuration keys')")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override one config key, e.g. --set epochs=2 --set widths=[16,32]; repeatable",
    )
    args = parser.parse_args(argv)
    return load_config(cls, args.config, parse_overrides(args.set))
