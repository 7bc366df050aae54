"""Builds only the Cython accelerators of newapi._speedups.

Everything else lives in pyproject.toml. NEWAPI_NO_EXTENSIONS=1 skips the
extensions; the pure-Python twins are then used at run time.
"""

import os

from setuptools import setup

extensions = []
if os.environ.get("NEWAPI_NO_EXTENSIONS", "") not in ("1", "true", "yes"):
    from Cython.Build import cythonize
    from setuptools import Extension

    modules = [
        name[:-4]
        for name in sorted(os.listdir(os.path.join("newapi", "_speedups")))
        if name.endswith(".pyx")
    ]
    extensions = cythonize(
        [
            Extension(
                f"newapi._speedups.{name}",
                [os.path.join("newapi", "_speedups", f"{name}.pyx")],
                extra_compile_args=["-O3"],
            )
            for name in modules
        ],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
        quiet=True,
    )

setup(ext_modules=extensions)
