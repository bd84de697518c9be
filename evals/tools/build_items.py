"""Build ``evals/items.jsonl`` from the handwritten sources (``hw_*.py``) and the templates.

    python evals/tools/build_items.py          # write evals/items.jsonl, then run the checker

Ids are assigned per category in source order (``factual-001`` …), handwritten items first,
template items after them, so appending an item never renumbers existing ones of another
category.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_items  # noqa: E402
import hw_conversation  # noqa: E402
import hw_factual  # noqa: E402
import hw_followup  # noqa: E402
import hw_list  # noqa: E402
import hw_lookup  # noqa: E402
import hw_older  # noqa: E402
import hw_out_of_scope  # noqa: E402
import hw_robustness  # noqa: E402
import hw_section  # noqa: E402
import hw_task_request  # noqa: E402
import hw_topic  # noqa: E402
import templates  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "items.jsonl"

def collect() -> list[dict]:
    handwritten = (
        hw_lookup.ITEMS + hw_factual.ITEMS + hw_topic.ITEMS + hw_section.ITEMS + hw_older.ITEMS
        + hw_followup.ITEMS + hw_out_of_scope.ITEMS + hw_robustness.ITEMS
        # appended later: LIST topic questions (ids topic-031 on), conversation, task_request
        + hw_list.ITEMS + hw_conversation.ITEMS + hw_task_request.ITEMS
    )
    generated = templates.generate()
    counters: dict[str, int] = {}
    out: list[dict] = []
    for item in handwritten + generated:
        cat = item["category"]
        counters[cat] = counters.get(cat, 0) + 1
        out.append({"id": f"{cat.replace('_', '-')}-{counters[cat]:03d}", **item})
    out.sort(key=lambda it: it["id"])
    return out


def main() -> int:
    items = collect()
    with OUT.open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} items to {OUT}")
    errors = check_items.check(items) + check_items.global_checks(items)
    for e in errors:
        print("ERROR", e)
    print(check_items.stats(items))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
