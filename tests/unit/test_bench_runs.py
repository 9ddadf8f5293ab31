"""Which cold starts the runtime bench runs, and with which handler: start-up figures must be
the runtime's own (an import-free handler module), the typed handler's shown beside them."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlab.bench import clients
from streamlab.bench.clients import Workload
from streamlab.bench.deployed import DeployedTree
from streamlab.bench.runtime import VARIANTS, cold_start_runs

TREE = DeployedTree(Path("/layer"), Path("/sources"), Path("/task"))


def handler_of(run: clients.RuntimeClient) -> str:
    return run.handlers[Workload.NOOP_BUFFERED]


def test_ours_and_the_stock_client_start_the_import_free_handler_and_the_typed_one() -> None:
    runs = cold_start_runs([clients.ours(), clients.awslambdaric()], TREE)
    by_variant = {(run.key, variant): run for variants, run in runs for variant in variants}
    for key in ("ours", "awslambdaric"):
        assert handler_of(by_variant[key, "deployed"]) == "trivial.noop"
        assert handler_of(by_variant[key, "sources"]) == "trivial.noop"
        assert handler_of(by_variant[key, "typed"]) == "buffered.noop"
    assert by_variant["ours", "deployed"].argv[0].startswith("/layer/")
    assert by_variant["ours", "sources"].argv[0].startswith("/sources/")
    assert by_variant["ours", "typed"].argv[0].startswith("/layer/")
    assert by_variant["awslambdaric", "deployed"] is by_variant["awslambdaric", "sources"]


def test_a_client_whose_no_op_imports_nothing_starts_once_for_every_variant() -> None:
    runs = cold_start_runs([clients.minimal()], TREE)
    assert [variants for variants, _ in runs] == [VARIANTS]


def test_the_import_free_handler_really_imports_nothing() -> None:
    tree = ast.parse((clients.HANDLERS_DIR / "trivial.py").read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
