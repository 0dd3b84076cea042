import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_import_contracts_hold() -> None:
    """ingest and serving import nothing of ours; nothing imports app (pyproject contracts)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]


def test_account_commands_do_not_load_the_search_stack() -> None:
    """`plantops users add` is typed by an admin at a console: it took 5 s when it imported
    Chroma, LangChain and torch for nothing."""
    probe = ("import sys; from app.commands import cli, accounts; "
             "print(sorted({'chromadb', 'langchain_core', 'torch', 'sentence_transformers'}"
             " & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
