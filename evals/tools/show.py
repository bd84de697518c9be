"""Print measure bodies (and their roadmap rows) of the 2025 plan: ``python evals/tools/show.py 1-57 3-43``."""

from __future__ import annotations

import re
import sys

from catalog_lite import load_raw, parse_measures


def main(argv: list[str]) -> None:
    ms = parse_measures(load_raw("plan2025"))
    for no in argv:
        m = ms[no]
        print(f"===== [{no}] {m.title}  (lead: {', '.join(m.lead)})")
        print(re.sub(r"\n\s*\n", "\n", m.body).strip())
        rows = [r for r in m.roadmap.split("\n") if r.strip() and not r.startswith(("施策管理", "\t\t\t2024", "\t\t\t1Q"))]
        for r in rows:
            cells = [c for c in r.split("\t") if c.strip()]
            if cells and not cells[0].startswith("デジタル社会"):
                print("  RM:", " | ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
