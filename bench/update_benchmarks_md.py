"""Copy bench/results/latest.md into BENCHMARKS.md between its ``results:start``/``results:end`` markers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    doc = ROOT / "BENCHMARKS.md"
    tables = (ROOT / "bench" / "results" / "latest.md").read_text()
    text = doc.read_text()
    new, n = re.subn(
        r"(<!-- results:start[^>]*-->\n).*?(<!-- results:end -->)",
        lambda m: m.group(1) + tables + m.group(2),
        text,
        flags=re.S,
    )
    if n != 1:
        raise SystemExit("BENCHMARKS.md has no results markers")
    doc.write_text(new)


if __name__ == "__main__":
    main()
