"""The bash constructs the upstream harnesses lean on, reproduced in Python (no shell ever runs).

Every dialect reads its config through these, so each rule lives here once:

* :func:`ifs_split` — the words of an unquoted ``${list}`` under ``IFS=sep`` (the ``|`` lists,
  ``IFS="="`` on ``mode=value``, ``IFS=","`` on IPs);
* :func:`words` — ``eval $command``'s argv (quotes removed, nothing else interpreted), and
  :func:`eval_words` for an ``eval`` run while ``IFS`` still holds a separator;
* :func:`mode_value` — ``func_parser_params``: the ``mode=value`` entry of ``m1=v1|m2=v2``;
* :func:`at` — ``${array[i]}``; :func:`dirname` — coreutils ``dirname``;
* :func:`grep_w` — ``grep -n -w``: the physical lines holding a word (blank lines counted).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence


def ifs_split(value: str, sep: str = "|", *, strip: bool = False) -> list[str]:
    """Words of an unquoted ``${value}`` under ``IFS=sep``.

    An empty value gives no word (``for x in ${empty}`` iterates zero times), inner empty fields
    stay, and one trailing separator adds no empty field (unlike :meth:`str.split`):
    ``"a||b|"`` → ``["a", "", "b"]``. ``strip=True`` (the PaddleSeg planners) also treats a
    blank value as empty and strips each field.
    """
    if (value.strip() if strip else value) == "":
        return []
    fields = value.split(sep)
    if fields[-1] == "":
        fields.pop()
    return [field.strip() for field in fields] if strip else fields


# The name the T51 planners have always used for it.
bash_list = ifs_split


def words(command: str) -> list[str]:
    """Split a command line the way ``eval`` would, without running a shell.

    Quotes are removed and whitespace separates words; ``;``, ``$(...)``, ``>`` and globs stay
    literal characters, so a config value can never start another command.
    """
    if "'" not in command and '"' not in command and "\\" not in command:
        return command.split()  # no quoting: the same words as shlex, ~50x faster
    try:
        return shlex.split(command, posix=True)
    except ValueError:  # an unbalanced quote: fall back to plain whitespace splitting
        return command.split()


def eval_words(command: str, ifs: str = "|") -> list[str]:
    """argv of ``eval $command`` while ``IFS`` holds ``ifs`` as well as blanks (PaddleClas runs
    its commands under ``IFS='|'``): each such character splits the unquoted expansion, so it is
    a plain word separator before ``eval`` re-parses the text."""
    for char in ifs:
        command = command.replace(char, " ")
    return words(command)


def mode_value(value: str, mode: str) -> str:
    """``func_parser_params``: the value of the ``mode=v`` entry of ``m1=v1|m2=v2``.

    Each ``|`` entry is split under ``IFS="="`` and the first whose first field is ``mode``
    wins; its second field is the value (``a=b=c`` gives ``b``). An absent mode, or a plain
    value, gives ``""`` (the harness then omits the parameter).
    """
    for entry in ifs_split(value):
        fields = ifs_split(entry, "=")
        if at(fields, 0) == mode:
            return at(fields, 1)
    return ""


def at(items: Sequence[str], index: int) -> str:
    """``${array[index]}``: an empty string past the end."""
    return items[index] if 0 <= index < len(items) else ""


def dirname(path: str) -> str:
    """``dirname`` as coreutils computes it: ``./a/b/`` → ``./a``, ``x`` → ``.``, ``/`` → ``/``."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    head = stripped.rsplit("/", 1)[0] if "/" in stripped else "."
    return head.rstrip("/") or "/"


def grep_w(lines: Sequence[str], word: str) -> list[int]:
    """``grep -n -w word``: the 1-based numbers of the ``lines`` (physical lines, blank ones
    included: :attr:`~pytest_tipc.model.config.TipcConfig.raw_lines`) that hold ``word`` as a
    whole word (not next to a letter, digit or ``_``)."""
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
    return [number for number, text in enumerate(lines, start=1) if pattern.search(text)]
