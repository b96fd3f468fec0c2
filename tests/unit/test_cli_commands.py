"""The CLI finds each command's module by name without importing every module first."""

import importlib

from twelve.cli.main import COMMAND_MODULES


def test_the_command_map_names_exactly_the_commands_each_module_defines() -> None:
    for module, names in COMMAND_MODULES.items():
        commands = importlib.import_module(f"twelve.cli.{module}").commands
        assert tuple(c.name for c in commands) == names, module
