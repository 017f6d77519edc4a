"""The s32 harness family."""

from .planner import plan

__all__ = ["plan"]
