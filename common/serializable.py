"""`FromConfigMixin`: ``from_config`` and ``__repr__`` for classes whose ``get_config`` names every constructor argument."""

from common.errors import ParameterError


class FromConfigMixin:
    """Rebuild an object from its ``get_config()`` dict, and show it as ``Class(arg=value, ...)``."""

    @classmethod
    def from_config(cls, config):
        """Rebuild from `get_config`'s dict. Raises ParameterError on unknown keys or bad values."""
        try:
            return cls(**config)
        except TypeError as err:
            raise ParameterError(f"Bad {cls.__name__} config ({err}). Received: config={config!r}") from err

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
