"""Accelerators: Cython modules, each with a pure-Python twin of identical behaviour.

Each accelerator ``name`` is ``name.pyx`` + ``name.pxd`` + ``name.pyi`` and the twin
``_name_py.py``. :func:`select` picks the compiled module unless
``NEWAPI_NO_EXTENSIONS=1`` is set or the extension was not built. Tests import both
modules directly and run one suite over each.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from newapi.settings import extensions_disabled


def select(name: str) -> ModuleType:
    """The compiled ``newapi._speedups.<name>`` or, failing that, its twin."""
    if not extensions_disabled():
        try:
            return importlib.import_module(f"newapi._speedups.{name}")
        except ImportError:
            pass
    return importlib.import_module(f"newapi._speedups._{name}_py")


def is_compiled(module: ModuleType) -> bool:
    """Whether ``module`` is a compiled extension rather than a Python twin."""
    return not (module.__file__ or "").endswith(".py")
