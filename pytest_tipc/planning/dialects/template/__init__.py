"""The template harness family: the models docs template's 51-row ``test_tipc`` (train/infer, benchmark)."""

from pytest_tipc.planning.dialects.template.planner import plan
from pytest_tipc.planning.family import DialectFamily, lazy

FAMILY = DialectFamily("template", plan, bench=lazy(f"{__name__}.bench"))

__all__ = ["FAMILY", "plan"]
