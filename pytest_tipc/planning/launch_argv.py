"""The options of a ``python -m paddle.distributed.launch`` step, read and rewritten: by planning
(a CPU rehearsal, :mod:`pytest_tipc.planning.rehearse`) and by the engine's steps (the devices a
cell leased, one argv per node: :mod:`pytest_tipc.execution.devices`, :mod:`pytest_tipc.execution.step.nodes`).

``Launch.argv_index`` is the index of ``-m`` in ``Step.argv`` and ``Launch.script_index`` the
index of the training script: the launcher's own options lie between them. Options come as
``--name=value`` or ``--name value``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pytest_tipc.model.cells import Launch

DEVICE_FLAGS = ("--gpus", "--devices")


@dataclass(frozen=True)
class LaunchArgv:
    head: tuple[str, ...]  # interpreter … -m paddle.distributed.launch
    options: tuple[str, ...]
    script: tuple[str, ...]  # training script and its arguments

    @classmethod
    def split(cls, argv: tuple[str, ...], launch: Launch) -> LaunchArgv:
        start = launch.argv_index + 2
        return cls(argv[:start], argv[start:launch.script_index], argv[launch.script_index:])

    def join(self) -> tuple[str, ...]:
        return (*self.head, *self.options, *self.script)

    def value(self, names: Collection[str]) -> tuple[str, str] | None:
        """``(name, value)`` of the first option among ``names``."""
        opts = self.options
        for index, word in enumerate(opts):
            name, eq, value = word.partition("=")
            if name in names:
                if eq:
                    return name, value
                return name, opts[index + 1] if index + 1 < len(opts) else ""
        return None

    def without(self, names: Collection[str]) -> LaunchArgv:
        return self._replace(names, None)

    def _replace(self, names: Collection[str], word: str | None) -> LaunchArgv:
        """Drop every option among ``names``; ``word`` takes the place of the first one."""
        kept: list[str] = []
        skip_next = False
        for option in self.options:
            if skip_next:
                skip_next = False
                continue
            name, eq, _ = option.partition("=")
            if name in names:
                skip_next = not eq
                if word is not None:
                    kept.append(word)
                    word = None
                continue
            kept.append(option)
        if word is not None:
            kept.insert(0, word)
        return LaunchArgv(self.head, tuple(kept), self.script)

    def with_options(self, *words: str) -> LaunchArgv:
        return LaunchArgv(self.head, (*words, *self.options), self.script)

    def with_devices(self, ids: tuple[str, ...]) -> LaunchArgv:
        """The device flag (``--gpus=`` or ``--devices=``, whichever the step used) set to ``ids``."""
        found = self.value(DEVICE_FLAGS)
        flag = found[0] if found else "--devices"
        return self._replace(DEVICE_FLAGS, f"{flag}={','.join(ids)}")
