"""The CLI finds each command's module by name without importing every module first."""

import importlib
import pkgutil

import twelve.cli
from twelve.cli.main import COMMAND_MODULES


def test_the_command_map_names_exactly_the_commands_each_module_defines() -> None:
    for module, names in COMMAND_MODULES.items():
        commands = importlib.import_module(f"twelve.cli.{module}").commands
        assert tuple(c.name for c in commands) == names, module


def test_every_module_with_commands_is_in_the_map() -> None:
    for info in pkgutil.iter_modules(twelve.cli.__path__):
        module = importlib.import_module(f"twelve.cli.{info.name}")
        if hasattr(module, "commands"):
            assert info.name in COMMAND_MODULES, f"add twelve.cli.{info.name} to COMMAND_MODULES"
