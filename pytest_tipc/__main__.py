"""``python -m pytest_tipc merge DIR...``: see :mod:`pytest_tipc.fleet.merge`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "merge":
        print("usage: python -m pytest_tipc merge DIR... [--junitxml OUT.xml] [--report OUT.md] "
              "[--baseline PREV.json] [--fail-on new|any]", file=sys.stderr)
        return 2
    from pytest_tipc.fleet.merge import main as merge

    return merge(args[1:])


if __name__ == "__main__":
    sys.exit(main())
