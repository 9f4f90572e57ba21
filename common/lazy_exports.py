"""A package's public names, imported on first use (PEP 562) rather than with the package.

For packages whose modules are heavy to import (TensorFlow, Keras, scikit-learn) but whose
light modules are imported by CLIs that must start fast: ``import evaluation.audio_statistics``
runs ``evaluation/__init__.py``, which then imports nothing more.
"""

import importlib
import sys


def lazy_exports(package, exports):
    """``(__getattr__, __dir__)`` for a package's ``__init__``: each exported name is read from its module on first use.

    Args:
        package: str, the package's name (``__name__`` in its ``__init__``).
        exports: dict, public name -> the name of the module of ``package`` that defines it.
    Returns:
        Two functions to bind as the package's module-level ``__getattr__`` and ``__dir__``:
        ``__getattr__(name)`` imports ``exports[name]``'s module and returns its attribute
        ``name``; other names raise ``AttributeError``.
    Raises:
        ValueError: if a module is not inside ``package`` (exports do not cross layers), or a
            name is also the name of one of the package's modules (the module would replace it
            as the package's attribute once imported).
    """
    modules = set(exports.values())
    outside = sorted(module for module in modules if not module.startswith(package + "."))
    if outside:
        raise ValueError(f"Exported modules must be inside {package!r}. Received: {outside}")
    clashing = sorted(name for name in exports if f"{package}.{name}" in modules)
    if clashing:
        raise ValueError(f"An exported name must not be a module's name. Received: {clashing}")

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
