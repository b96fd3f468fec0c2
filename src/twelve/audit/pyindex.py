"""One pass over a Python module's ``ast`` collecting what the rules ask about (pure)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_ENV_GET = frozenset(
    {
        "os.environ.get",
        "os.getenv",
        "environ.get",
        "getenv",
        "os.environ.setdefault",
        "environ.setdefault",
    }
)
# django-environ, python-decouple and environs style readers: reader("NAME", default=...).
_ENV_READERS = frozenset(
    {
        "env",
        "env.str",
        "env.bool",
        "env.int",
        "env.url",
        "env.db",
        "env.db_url",
        "env.cache",
        "env.cache_url",
        "env.list",
        "config",
        "decouple.config",
        "dj_database_url.config",
    }
)
_ENV_MAPS = frozenset({"os.environ", "environ"})


@dataclass(frozen=True)
class EnvRead:
    """An environment read: its variable name when literal, and the fallback expression if any."""

    key: str | None
    default: ast.expr | None
    line: int


@dataclass(frozen=True)
class Binding:
    """A value bound to a name.

    ``NAME = v``, ``obj.attr = v``, ``x["KEY"] = v``, ``{"KEY": v}`` and ``f(key=v)`` all bind ``v``.
    """

    name: str
    value: ast.expr
    line: int
    kind: str
    module_level: bool
    target: str = ""


@dataclass(frozen=True)
class Text:
    """A string literal: its value, line and the identity of its node (to test fallback membership)."""

    value: str
    line: int
    node_id: int


@dataclass(frozen=True)
class Call:
    node: ast.Call
    callee: str
    in_main: bool


@dataclass
class PyIndex:
    """What one module contains, in source order per kind."""

    tree: ast.Module
    calls: list[Call] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    env_reads: list[EnvRead] = field(default_factory=list)
    imports: list[tuple[str, int, bool]] = field(default_factory=list)
    compares: list[ast.Compare] = field(default_factory=list)
    strings: list[Text] = field(default_factory=list)
    dicts: list[ast.Dict] = field(default_factory=list)
    definitions: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = field(
        default_factory=list
    )
    fallback_ids: set[int] = field(default_factory=set)
    fstring_ids: set[int] = field(default_factory=set)
    while_true: bool = False


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a name chain; calls and subscripts are kept recognisable."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{dotted(node.func)}()"
    if isinstance(node, ast.Subscript):
        key = str_value(node.slice)
        return f"{dotted(node.value)}[{key!r}]" if key is not None else f"{dotted(node.value)}[]"
    return "?"


def str_value(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def kwarg(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def env_read(node: ast.AST) -> EnvRead | None:
    """Recognise ``os.environ[...]``, ``os.getenv(...)``, ``env("X", default=...)`` and the like."""
    if isinstance(node, ast.Subscript) and dotted(node.value) in _ENV_MAPS:
        return EnvRead(str_value(node.slice), None, node.lineno)
    if not isinstance(node, ast.Call):
        return None
    callee = dotted(node.func)
    if callee in _ENV_GET:
        key = str_value(node.args[0]) if node.args else None
        default = node.args[1] if len(node.args) > 1 else kwarg(node, "default")
        return EnvRead(key, default, node.lineno)
    if callee in _ENV_READERS:
        key = str_value(node.args[0]) if node.args else None
        if key is None and callee != "dj_database_url.config":
            return None
        if callee == "dj_database_url.config":
            key = str_value(kwarg(node, "env")) or "DATABASE_URL"
        default = kwarg(node, "default")
        if default is None and len(node.args) > 1 and callee.startswith("env"):
            default = node.args[1]
        return EnvRead(key, default, node.lineno)
    return None


def _is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        str_value(s) == "__main__" for s in sides
    )


def _optional_import_try(node: ast.Try) -> bool:
    for handler in node.handlers:
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if handler.type is None or any(
            isinstance(n, ast.Name | ast.Attribute)
            and dotted(n).endswith(("ImportError", "ModuleNotFoundError", "Exception"))
            for n in names
            if n is not None
        ):
            return True
    return False


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return str_value(target.slice)
    return None


_RECORDED = frozenset(
    {
        ast.Call,
        ast.Assign,
        ast.AnnAssign,
        ast.Dict,
        ast.Import,
        ast.ImportFrom,
        ast.Compare,
        ast.Constant,
        ast.While,
        ast.BoolOp,
        ast.Subscript,
        ast.JoinedStr,
    }
)
_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
# Fields that never hold a node worth visiting: names, flags, operators and expression contexts.
_SCALAR_FIELDS = frozenset(
    {
        "ctx",
        "id",
        "attr",
        "kind",
        "type_comment",
        "level",
        "module",
        "op",
        "ops",
        "names",
        "name",
        "arg",
        "is_async",
        "conversion",
        "simple",
        "tag",
        "kwd_attrs",
        "rest",
    }
)
# Leaves whose ``value`` is a Python value, not a node.
_LEAVES = frozenset({ast.Constant, ast.MatchSingleton})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node class that can hold child nodes (cached per class)."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        names: tuple[str, ...] = getattr(kind, "_fields", ())
        fields = () if kind in _LEAVES else tuple(f for f in names if f not in _SCALAR_FIELDS)
        _CHILD_FIELDS[kind] = fields
    return fields


def build_index(tree: ast.Module) -> PyIndex:
    """Walk the module once; records whether each call sits under ``if __name__ == "__main__"``."""
    index = PyIndex(tree)
    stack: list[tuple[ast.AST, bool, bool, bool]] = [(tree, False, False, True)]
    push = stack.append
    while stack:
        node, in_main, optional, top = stack.pop()
        kind = type(node)
        child_main, child_optional, child_top = in_main, optional, top
        if kind is ast.If:
            test = node.test  # type: ignore[attr-defined]
            if _is_main_guard(test):
                child_main = True
            elif dotted(test).endswith("TYPE_CHECKING"):
                child_optional = True
        elif kind is ast.Try and _optional_import_try(node):  # type: ignore[arg-type]
            child_optional = True
        elif kind in _SCOPES:
            child_top = False
            if kind in _DEFINITIONS:
                index.definitions.append(node)  # type: ignore[arg-type]
        if kind in _RECORDED:
            _record(index, node, in_main, optional, top)
        # A hand-written ast.iter_child_nodes over the fields that can hold nodes: this loop is most
        # of the cost of a scan.
        fields = _CHILD_FIELDS.get(kind)
        for name in fields if fields is not None else _child_fields(kind):
            value = getattr(node, name, None)
            if value is None:
                continue
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push((item, child_main, child_optional, child_top))
            elif isinstance(value, ast.AST):
                push((value, child_main, child_optional, child_top))
    return index


def _record(index: PyIndex, node: ast.AST, in_main: bool, optional: bool, top: bool) -> None:
    # String constants are most of what is recorded: take them first, and nothing else of them.
    if type(node) is ast.Constant:
        constant = node.value
        if constant.__class__ is str and id(node) not in index.fstring_ids:
            index.strings.append(Text(constant, node.lineno, id(node)))
        return
    if isinstance(node, ast.Call):
        index.calls.append(Call(node, dotted(node.func), in_main))
        for keyword in node.keywords:
            if keyword.arg:
                index.bindings.append(
                    Binding(keyword.arg, keyword.value, keyword.value.lineno, "kwarg", top)
                )
    elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            for each in target.elts if isinstance(target, ast.Tuple) else [target]:
                name = _target_name(each)
                if name:
                    index.bindings.append(
                        Binding(name, node.value, node.lineno, "assign", top, dotted(each))
                    )
    elif isinstance(node, ast.Dict):
        index.dicts.append(node)
        for key, value in zip(node.keys, node.values, strict=True):
            name = str_value(key)
            if name:
                index.bindings.append(Binding(name, value, value.lineno, "key", top))
    elif isinstance(node, ast.Import):
        for alias in node.names:
            index.imports.append((alias.name.split(".")[0], node.lineno, optional))
    elif isinstance(node, ast.ImportFrom):
        if node.level == 0 and node.module:
            index.imports.append((node.module.split(".")[0], node.lineno, optional))
    elif isinstance(node, ast.Compare):
        index.compares.append(node)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        if id(node) not in index.fstring_ids:
            index.strings.append(Text(node.value, node.lineno, id(node)))
    elif isinstance(node, ast.JoinedStr):
        # The literal parts of an f-string are pieces of a built value, not a value of their own.
        index.fstring_ids.update(id(v) for v in node.values)
    elif isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value:
        index.while_true = True
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) >= 2:
        read = env_read(node.values[0])
        if read is not None:
            index.env_reads.append(EnvRead(read.key, node.values[-1], read.line))
            index.fallback_ids.update(id(n) for n in ast.walk(node.values[-1]))
            return
    read = env_read(node) if isinstance(node, ast.Call | ast.Subscript) else None
    if read is not None:
        index.env_reads.append(read)
        if read.default is not None:
            index.fallback_ids.update(id(n) for n in ast.walk(read.default))


def settings_classes(index: PyIndex) -> list[ast.ClassDef]:
    """pydantic ``BaseSettings`` classes, whose field defaults the environment overrides."""
    return [
        node
        for node in index.definitions
        if isinstance(node, ast.ClassDef)
        and any(dotted(base).split(".")[-1] in {"BaseSettings", "Settings"} for base in node.bases)
    ]


def settings_class_lines(index: PyIndex) -> set[int]:
    """Lines inside settings classes (see ``settings_classes``)."""
    lines: set[int] = set()
    for node in settings_classes(index):
        lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def settings_fields(index: PyIndex) -> list[ast.Assign | ast.AnnAssign]:
    """The field declarations of settings classes that have a default (``NAME: str = "..."``)."""
    return [
        statement
        for node in settings_classes(index)
        for statement in node.body
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None
    ]


def field_default(value: ast.expr) -> ast.expr:
    """The default of a field: ``v`` itself, or the default given to ``Field(v)``/``Field(default=v)``."""
    if isinstance(value, ast.Call) and dotted(value.func).split(".")[-1] == "Field":
        return kwarg(value, "default") or (value.args[0] if value.args else value)
    return value
