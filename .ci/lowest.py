"""Print pip constraints pinning every direct dependency to the lower bound pyproject.toml allows.

usage: python .ci/lowest.py [pyproject.toml] > constraints.txt

Direct dependencies are the project's `dependencies` and its `test` and `postgres` extras.
Each must have a lower bound (`>=`, `~=` or `==`): "pin ranges whose lower bound you have
actually tested", and this is how CI tests it. Transitive dependencies are not pinned and float.
Extras are dropped from the names (pip refuses them in a constraints file); the extra's own
packages are transitive and float too. Needs `packaging` (pytest depends on it).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

EXTRAS = ("test", "postgres")


def lower_bound(req: Requirement) -> Version:
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "~=", "==")]
    if not bounds:
        raise SystemExit(f"{req}: no lower bound (>=, ~= or ==) in pyproject.toml")
    return max(bounds)


def constraints(pyproject: Path) -> dict[str, Version]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"][extra]
    pins: dict[str, Version] = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        # The same package in two lists (psycopg in `test` and `postgres`): the higher bound is the
        # lowest version both lists allow.
        pins[name] = max(pins.get(name, Version("0")), lower_bound(req))
    return pins


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "pyproject.toml"
    for name, version in sorted(constraints(path).items()):
        print(f"{name}=={version}")
