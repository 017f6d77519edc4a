"""Stored-result values compared with numpy ``allclose`` semantics, and the tolerances per precision.

``|obtained - expected| <= atol + rtol * |expected|`` (NaN equals NaN, as upstream's
``assert_allclose``), leaf by leaf through nested lists and dicts; strings and bools must be equal,
and so must shapes. The defaults and why are in :mod:`pytest_tipc.verdicts.results.compare`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tipc.verdicts.results.files import is_scalar


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float

    def __str__(self) -> str:
        return f"atol={self.atol:g}, rtol={self.rtol:g}"


DEFAULT_TOLERANCES = {"fp32": Tolerance(1e-3, 1e-3), "fp16": Tolerance(5e-2, 5e-2), "int8": Tolerance(5e-2, 5e-2)}


def tolerance_for(precision: str, overrides: Mapping[str, Mapping[str, float]] | None = None) -> Tolerance:
    """The default for ``precision`` (fp32's for unknown ones) with ``{"atol"|"rtol": x}`` overrides."""
    base = DEFAULT_TOLERANCES.get(precision, DEFAULT_TOLERANCES["fp32"])
    given = (overrides or {}).get(precision, {})
    return Tolerance(float(given.get("atol", base.atol)), float(given.get("rtol", base.rtol)))


@dataclass(frozen=True)
class ValueDiff:
    """How one obtained value compares with the stored one. ``where`` locates the leaf with the
    largest difference (``.scores[0]``, ``[3][1][0]``); ``expected_leaf``/``obtained_leaf`` are
    its two values."""

    ok: bool
    max_abs_diff: float | None = None
    problem: str = ""
    where: str = ""
    expected_leaf: Any = None
    obtained_leaf: Any = None


def _leaves(value: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k in value:
            yield from _leaves(value[k], f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def _structure(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_structure(v) for v in value]
    return "#" if is_scalar(value) else value


def _as_arrays(expected: Any, obtained: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Both values as float arrays when they are rectangular numeric data, else None."""
    if isinstance(expected, (str, dict)) or isinstance(obtained, (str, dict)):
        return None
    try:
        return np.asarray(expected, dtype=np.float64), np.asarray(obtained, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _compare_arrays(a: np.ndarray, b: np.ndarray, tol: Tolerance, paths: list[str] | None = None) -> ValueDiff:
    if a.shape != b.shape:
        return ValueDiff(False, None, f"shape {b.shape} vs expected {a.shape}")
    if a.size == 0:
        return ValueDiff(True, 0.0)
    diff = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(b - a))
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = np.unravel_index(int(np.argmax(diff)), a.shape)
    where = paths[int(worst[0])] if paths is not None else "".join(f"[{int(i)}]" for i in worst) if a.ndim else ""
    ok = bool(np.all(np.isclose(b, a, atol=tol.atol, rtol=tol.rtol, equal_nan=True)))
    return ValueDiff(ok, float(diff[worst]), "", where, a[worst].item(), b[worst].item())


def compare_values(expected: Any, obtained: Any, tol: Tolerance) -> ValueDiff:
    """Compare an obtained value with the stored one (see the module docstring)."""
    arrays = _as_arrays(expected, obtained)
    if arrays is not None:
        return _compare_arrays(*arrays, tol)
    if _structure(expected) != _structure(obtained):
        for (path, e), (other, o) in zip(_leaves(expected), _leaves(obtained)):
            if path != other or (not (is_scalar(e) and is_scalar(o)) and e != o):
                return ValueDiff(False, None, "different structure or labels", path, e, o)
        return ValueDiff(False, None, "different structure or labels")
    pairs = [(p, e, o) for (p, e), (_, o) in zip(_leaves(expected), _leaves(obtained)) if is_scalar(e)]
    if not pairs:
        return ValueDiff(True)
    return _compare_arrays(np.array([float(e) for _, e, _ in pairs]), np.array([float(o) for _, _, o in pairs]),
                           tol, [p for p, _, _ in pairs])
