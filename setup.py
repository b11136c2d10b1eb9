"""The one compiled part: the scheduler's native hot path (pytest_wasmconc/runtime/_lane.c).

Everything else is declared in pyproject.toml. The extension uses only the
Python C API; Wasmtime's functions reach it as addresses from wasmtime-py's
already loaded library, so nothing links against Wasmtime at build time.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pytest_wasmconc.runtime._lane",
            sources=["pytest_wasmconc/runtime/_lane.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wno-missing-field-initializers"],
        )
    ]
)
