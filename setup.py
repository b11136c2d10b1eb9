"""The compiled parts: the scheduler's native hot path (pytest_wasmconc/runtime/lane/_lane_c/) and the
race check's native detector (pytest_wasmconc/checks/races/_native_c/).

Everything else is declared in pyproject.toml. The extensions use only the
Python C API; Wasmtime's functions reach it as addresses from wasmtime-py's
already loaded library, so nothing links against Wasmtime at build time.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pytest_wasmconc.runtime.lane._lane",
            sources=[f"pytest_wasmconc/runtime/lane/_lane_c/{name}.c"
                     for name in ("module", "slots", "host", "vmem", "futex", "steps")],
            depends=["pytest_wasmconc/runtime/lane/_lane_c/lane.h"],
            # Only PyInit__lane is exported (PyMODINIT_FUNC); the rest stays inside the module.
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wno-missing-field-initializers", "-fvisibility=hidden"],
        ),
        Extension(
            "pytest_wasmconc.checks.races._native",
            sources=[f"pytest_wasmconc/checks/races/_native_c/{name}.c" for name in ("module", "detector")],
            depends=["pytest_wasmconc/checks/races/_native_c/races.h"],
            # Only PyInit__native is exported; Wasmtime calls the callbacks by address.
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wno-missing-field-initializers", "-fvisibility=hidden"],
        ),
    ]
)
