"""The evaluation suites: one ordered table from which everything else about them is derived.

``SUITES`` lists every suite in report order (the development suite first, then the held-out suites
in the order they were written). The runner's ``--suite`` values (:data:`SUITE_CHOICES`), the files
(:data:`SUITE_PATHS`), the suites the ``[heldout]`` thresholds apply to (:data:`HELDOUT_SUITES`), the
``--suite all`` group and the report's section titles (:data:`SUITE_TITLES`) all come from it, so a
new suite is one more row here (and its ``.jsonl`` file under ``evals/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.config import PROJECT_ROOT

EVALS_DIR = PROJECT_ROOT / "evals"


@dataclass(frozen=True)
class Suite:
    """One evaluation suite: its ``--suite`` name, its file under ``evals/``, its report label and
    whether it is held out (never tuned on; the ``[heldout]`` thresholds apply, report-only unless
    ``--gate-heldout``)."""

    name: str
    file: str
    label: str
    heldout: bool = True

    @property
    def path(self) -> Path:
        return EVALS_DIR / self.file

    @property
    def title(self) -> str:
        """The heading of the suite's section in a multi-suite ``report.md``."""
        return f"{self.label} — `evals/{self.file}`" + (" (never tuned on)" if self.heldout else "")


SUITES: tuple[Suite, ...] = (
    Suite("dev", "items.jsonl", "Dev suite", heldout=False),
    Suite("heldout", "heldout.jsonl", "Held-out suite"),
    Suite("heldout2", "heldout2.jsonl", "Held-out suite 2"),
    Suite("heldout3", "heldout3.jsonl", "Held-out suite 3"),
    Suite("heldout4", "heldout4.jsonl", "Held-out suite 4"),
    Suite("heldout5", "heldout5.jsonl", "Held-out suite 5"),
    Suite("heldout6", "heldout6.jsonl", "Held-out suite 6"),
    Suite("heldout7", "heldout7.jsonl", "Held-out suite 7"),
    Suite("heldout8", "heldout8.jsonl", "Held-out suite 8"),
    Suite("heldout9", "heldout9.jsonl", "Held-out suite 9"),
    Suite("heldout10", "heldout10.jsonl", "Held-out suite 10"),
    Suite("heldout11", "heldout11.jsonl", "Held-out suite 11"),
    Suite("heldout12", "heldout12.jsonl", "Held-out suite 12"),
)

SUITE_PATHS: dict[str, Path] = {s.name: s.path for s in SUITES}
SUITE_TITLES: dict[str, str] = {s.name: s.title for s in SUITES}
# Suites never tuned on: the `[heldout]` thresholds apply to each (report-only unless --gate-heldout).
HELDOUT_SUITES: tuple[str, ...] = tuple(s.name for s in SUITES if s.heldout)
# --suite values that run several suites, in report order: `both` is dev + the first held-out suite
# (the historical default), `all` is every suite of the table.
SUITE_GROUPS: dict[str, tuple[str, ...]] = {"both": ("dev", HELDOUT_SUITES[0]), "all": tuple(SUITE_PATHS)}
SUITE_CHOICES: tuple[str, ...] = (*SUITE_PATHS, *SUITE_GROUPS)

__all__ = ["HELDOUT_SUITES", "SUITES", "SUITE_CHOICES", "SUITE_GROUPS", "SUITE_PATHS", "SUITE_TITLES", "Suite"]
