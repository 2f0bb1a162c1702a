"""Writing one bench's figures into its own section of docs/performance.md.

Each bench owns the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; the rest of the
file (the profiles' lessons, other benches' sections) is left as it is.
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def write_section(name: str, text: str, docs: Path = DOCS) -> None:
    """Replace (or append) the section of bench ``name`` with ``text``."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    current = docs.read_text() if docs.exists() else "# Performance\n"
    block = f"{begin}\n{text.strip()}\n{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    docs.write_text(current)


def verdict(met: bool) -> str:
    """How a target reads in the tables."""
    return "met" if met else "NOT met"
