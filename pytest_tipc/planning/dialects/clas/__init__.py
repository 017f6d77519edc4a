"""The clas harness family."""

from .planner import plan

__all__ = ["plan"]
