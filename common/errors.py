"""The project's one exception type for bad input."""


class ParameterError(ValueError):
    """Raised for any invalid argument, file, configuration or model folder.

    The message names the offending value, ending in ``Received: name=value``
    where there is a single value to name.
    """
