"""``--tipc-reruns``: which failed steps are worth running again, and the trace reruns leave.

A failure is rerun only when nothing says it will fail the same way again: a known cause (every
signature in ``causes.json`` is an environment or config problem), an error line of a deterministic
kind (a missing module or file, an unknown argument, a syntax or config error), a step that could
not start, an artifact missing after exit 0, or the plugin's own I/O error are not rerun. A timeout,
a crash or a non-zero exit without such a line is. An item whose step passed on a later attempt is
*flaky*: its record says so (``attempts``), and its JUnit testcase carries Surefire's
``<flakyFailure>`` (passed at last) or ``<rerunFailure>`` (failed every time) per earlier attempt.
The engine moves a failed attempt's log aside (:func:`pytest_tipc.execution.step.runner.keep_attempt_log`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pytest_tipc.verdicts import failures

ATTEMPTS_PROPERTY = "tipc_attempts"
DETERMINISTIC = re.compile(
    r"No module named|ModuleNotFoundError|ImportError|FileNotFoundError|No such file or directory|"
    r"unrecognized arguments|SyntaxError|IndentationError|NameError|AttributeError|not find model|"
    r"ConfigError|config error|PermissionError|Permission denied|NotImplementedError|"
    r"\(InvalidArgument\)|\(NotFound\)|\(Unimplemented\)")


def rerunnable(result: Any) -> tuple[bool, str]:
    """``(may rerun, why not)`` for a failed :class:`~pytest_tipc.execution.step.runner.StepResult`."""
    if result.error:
        return False, "the step could not start"
    if result.io_error:
        return False, "the plugin could not write its own files"
    if result.timed_out:
        return True, ""
    if result.rc == 0 and (result.missing or getattr(result, "unproven", "")):
        return False, "the step exited 0 without its artifact or its evidence"
    why, cause = failures.reason(result)
    if cause is not None:
        return False, f"known cause: {cause.cause}"
    if why and DETERMINISTIC.search(why):
        return False, f"a deterministic error: {why}"
    return True, ""


def attempts_of(results: Sequence[Any]) -> list[dict[str, str]]:
    """The earlier attempts of a cell's steps: ``{step, headline, log}`` each, oldest first."""
    return [{"step": r.kind, "headline": failures.headline(earlier), "log": str(earlier.log_path)}
            for r in results for earlier in getattr(r, "retries", ())]


def attempts_property(attempts: list[dict[str, str]]) -> tuple[str, str]:
    return ATTEMPTS_PROPERTY, json.dumps(attempts)


def junit_elements(properties: Sequence[tuple[str, object]], passed: bool) -> list[Any]:
    """Surefire's elements for the earlier attempts in a report's ``user_properties``."""
    import xml.etree.ElementTree as ET

    out = []
    for name, value in properties:
        if name != ATTEMPTS_PROPERTY:
            continue
        for attempt in json.loads(str(value)):
            element = ET.Element("flakyFailure" if passed else "rerunFailure",
                                 message=attempt["headline"], type="tipc.StepFailure")
            ET.SubElement(element, "stackTrace").text = attempt["headline"]
            ET.SubElement(element, "system-out").text = f"log of this attempt: {attempt['log']}"
            out.append(element)
    return out
