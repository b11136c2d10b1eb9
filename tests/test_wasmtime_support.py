"""The supported wasmtime-py majors are the same everywhere: the package's range, tox, CI and the code's list.

The policy (README, "Wasmtime versions"): the two latest majors are supported,
each new one within its month. These tests fail when one of the places that
name the majors is updated without the others.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from pytest_wasmconc.runtime import wasmtime_version
from pytest_wasmconc.runtime.version import SUPPORTED_WASMTIME_MAJORS

ROOT = Path(__file__).resolve().parents[1]


def _wasmtime_requirement() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    (req,) = [r for r in reqs if r.name == "wasmtime"]
    return req


def test_the_supported_majors_are_the_two_latest_in_a_row() -> None:
    oldest, newest = SUPPORTED_WASMTIME_MAJORS
    assert newest == oldest + 1


def test_the_package_range_admits_every_supported_major_and_nothing_else() -> None:
    spec = _wasmtime_requirement().specifier
    oldest, newest = SUPPORTED_WASMTIME_MAJORS
    assert Version(f"{newest}.0.0") in spec and Version(f"{newest}.9.9") in spec
    assert Version(f"{oldest}.9.9") in spec
    assert Version(f"{oldest - 1}.9.9") not in spec
    assert Version(f"{newest + 1}.0.0") not in spec


def test_tox_has_one_environment_per_supported_major_pinned_to_it() -> None:
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = [e.strip() for e in tox["tox"]["envlist"].split(",")]
    assert [e for e in envs if "wasmtime" in e] == [f"py311-wasmtime{m}" for m in SUPPORTED_WASMTIME_MAJORS]
    deps = dict(line.split(":", 1) for line in tox["testenv"]["deps"].strip().splitlines())
    assert sorted(deps) == [f"wasmtime{m}" for m in SUPPORTED_WASMTIME_MAJORS]
    for major in SUPPORTED_WASMTIME_MAJORS:
        spec = Requirement(deps[f"wasmtime{major}"].strip()).specifier
        assert Version(f"{major}.9.9") in spec
        assert Version(f"{major - 1}.9.9") not in spec and Version(f"{major + 1}.0.0") not in spec


def test_ci_installs_the_newest_supported_major() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    (pin,) = re.findall(r'"(wasmtime[^"]*)"', script)
    spec = Requirement(pin).specifier
    newest = max(SUPPORTED_WASMTIME_MAJORS)
    assert Version(f"{newest}.0.0") in spec
    assert Version(f"{newest - 1}.9.9") not in spec and Version(f"{newest + 1}.0.0") not in spec
    # the same test command as every tox environment
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    assert "python -m pytest -n 2" in script
    assert "python -m pytest -n 2 {posargs}" in tox["testenv"]["commands"]


def test_the_installed_wasmtime_is_a_supported_major() -> None:
    assert Version(wasmtime_version()).major in SUPPORTED_WASMTIME_MAJORS


def test_the_version_read_beside_the_package_is_importlib_metadatas() -> None:
    from importlib import metadata

    from pytest_wasmconc.runtime.version import _version_beside

    assert _version_beside("wasmtime", "wasmtime") == metadata.version("wasmtime")
    assert _version_beside("no_such_package_here", "no_such_package_here") is None
