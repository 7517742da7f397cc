"""Reproducible installs (issue 16, item 23): the lock files pin, with hashes, a version of every
dependency pyproject.toml declares that satisfies its range (requirements.lock the runtime ones,
requirements-dev.lock those plus the test and bench extras), and the installs use them."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN_RE = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    found = {canonicalize_name(name): version for name, version in PIN_RE.findall(text)}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    unhashed = [b.split("=", 1)[0] for b in blocks if PIN_RE.match(b) and "--hash=sha256:" not in b]
    assert not unhashed, f"{lock}: no hash for {unhashed}"
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return [Requirement(r) for r in requirements]


def check(lock: str, requirements: list[Requirement]) -> None:
    pinned = pins(lock)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} lacks {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {requirement.name}=={pinned[name]}, outside {requirement.specifier}: run `make lock`")


def test_the_runtime_lock_covers_the_dependencies():
    check("requirements.lock", declared())


def test_the_dev_lock_covers_the_dependencies_and_the_extras():
    check("requirements-dev.lock", declared("test", "bench"))


def test_the_installs_use_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile and "\nlock:" in makefile
    assert "--require-hashes -r requirements.lock" in (ROOT / "Dockerfile").read_text()
    assert "make test" in (ROOT / ".ci/run").read_text()
