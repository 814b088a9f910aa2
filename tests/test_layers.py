"""The package's shape (issue 11): the stages' layers hold, no module imports itself round a
cycle, and each module stays readable in one sitting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from tests.conftest import ROOT

PACKAGE = ROOT / "scheduler"
LONGEST = 420  # lines: "about 400", a module a reader takes in at one sitting


def test_the_import_contracts_in_pyproject_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_no_module_imports_itself_round_a_cycle():
    """Module by module (imports only a type checker follows are left out: they run never)."""
    graph = grimp.build_graph("scheduler", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                cycles.append(graph.find_shortest_chain(importer=imported, imported=module) + (imported,))
    assert cycles == []


def test_no_module_is_longer_than_a_reader_takes_in_at_one_sitting():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
               for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    assert {name: n for name, n in lengths.items() if n > LONGEST} == {}
