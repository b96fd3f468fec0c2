"""One pass over a JavaScript or TypeScript syntax tree (tree-sitter) collecting what rules ask about."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser


@cache
def _parser(kind: str) -> Parser:
    if kind == "ts":
        return Parser(Language(tree_sitter_typescript.language_typescript()))
    if kind == "tsx":
        return Parser(Language(tree_sitter_typescript.language_tsx()))
    return Parser(Language(tree_sitter_javascript.language()))


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def line(node: Node) -> int:
    return node.start_point[0] + 1


def string_value(node: Node | None) -> str | None:
    """The value of a string literal or a template literal without substitutions."""
    if node is None:
        return None
    if node.type == "string":
        return text(node)[1:-1]
    if node.type == "template_string" and not any(
        c.type == "template_substitution" for c in node.named_children
    ):
        return text(node)[1:-1]
    return None


@dataclass(frozen=True)
class JsCall:
    node: Node
    callee: str
    args: list[Node]
    is_new: bool

    @property
    def line(self) -> int:
        return line(self.node)


@dataclass(frozen=True)
class JsBinding:
    """``name: value`` in an object, ``const name = value`` or ``x.name = value``."""

    name: str
    value: Node
    kind: str


@dataclass(frozen=True)
class JsEnvRead:
    key: str
    default: Node | None
    line: int


@dataclass
class JsIndex:
    calls: list[JsCall] = field(default_factory=list)
    bindings: list[JsBinding] = field(default_factory=list)
    env_reads: list[JsEnvRead] = field(default_factory=list)
    imports: list[tuple[str, int]] = field(default_factory=list)
    compares: list[Node] = field(default_factory=list)
    strings: list[Node] = field(default_factory=list)
    objects: list[Node] = field(default_factory=list)
    fallback_ids: set[int] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)
    has_errors: bool = False


def env_key(node: Node | None) -> str | None:
    """``PORT`` for ``process.env.PORT`` or ``process.env["PORT"]``."""
    if node is None:
        return None
    if (
        node.type == "member_expression"
        and text(node.child_by_field_name("object")) == "process.env"
    ):
        return text(node.child_by_field_name("property"))
    if (
        node.type == "subscript_expression"
        and text(node.child_by_field_name("object")) == "process.env"
    ):
        return string_value(node.child_by_field_name("index"))
    return None


def kind_for(path: str) -> str:
    if path.endswith((".ts", ".mts", ".cts")):
        return "ts"
    if path.endswith(".tsx"):
        return "tsx"
    return "js"


def build_index(source: str, path: str) -> JsIndex:
    """Parse and index; a file with syntax errors is still indexed where the tree is sound."""
    tree = _parser(kind_for(path)).parse(source.encode("utf-8"))
    index = JsIndex(has_errors=tree.root_node.has_error)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        _record(index, node)
        stack.extend(node.named_children)
    return index


def _record(index: JsIndex, node: Node) -> None:
    kind = node.type
    if kind in {"call_expression", "new_expression"}:
        is_new = kind == "new_expression"
        function = node.child_by_field_name("constructor" if is_new else "function")
        arguments = node.child_by_field_name("arguments")
        args = list(arguments.named_children) if arguments is not None else []
        callee = (
            text(function)
            if function is not None and function.type != "function_expression"
            else ""
        )
        index.calls.append(JsCall(node, " ".join(callee.split()), args, is_new))
        if callee in {"require", "import"} and args and (spec := string_value(args[0])):
            index.imports.append((spec, line(node)))
            if _inside_try(node):
                index.optional.add(spec)
    elif kind == "pair":
        key_node = node.child_by_field_name("key")
        value = node.child_by_field_name("value")
        name = (
            string_value(key_node)
            if key_node is not None and key_node.type == "string"
            else text(key_node)
        )
        if value is not None and name:
            index.bindings.append(JsBinding(name, value, "key"))
    elif kind == "variable_declarator":
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if value is not None and name_node is not None and name_node.type == "identifier":
            index.bindings.append(JsBinding(text(name_node), value, "assign"))
    elif kind == "assignment_expression":
        left = node.child_by_field_name("left")
        value = node.child_by_field_name("right")
        if left is not None and value is not None:
            name = (
                text(left.child_by_field_name("property"))
                if left.type == "member_expression"
                else text(left)
            )
            index.bindings.append(JsBinding(name, value, "assign"))
    elif kind in {"import_statement", "export_statement"}:
        source = node.child_by_field_name("source")
        if (spec := string_value(source)) is not None:
            index.imports.append((spec, line(node)))
    elif kind == "binary_expression":
        _binary(index, node)
    elif kind in {"string", "template_string"}:
        index.strings.append(node)
    elif kind == "object":
        index.objects.append(node)
    elif kind in {"member_expression", "subscript_expression"} and (env := env_key(node)):
        index.env_reads.append(JsEnvRead(env, None, line(node)))


def _inside_try(node: Node) -> bool:
    """Whether a require sits in a try block: an optional dependency, as ``try: import`` in Python."""
    parent = node.parent
    while parent is not None:
        if parent.type == "try_statement":
            return True
        if parent.type in {"function_declaration", "program"}:
            return False
        parent = parent.parent
    return False


def _binary(index: JsIndex, node: Node) -> None:
    operator = text(node.child_by_field_name("operator"))
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if operator in {"||", "??"} and right is not None and (key := env_key(left)):
        index.env_reads.append(JsEnvRead(key, right, line(node)))
        stack = [right]
        while stack:
            each = stack.pop()
            index.fallback_ids.add(each.id)
            stack.extend(each.named_children)
    elif operator in {"===", "==", "!==", "!="}:
        index.compares.append(node)


def object_keys(node: Node) -> dict[str, Node]:
    """The literal keys of an object expression mapped to their value nodes."""
    found: dict[str, Node] = {}
    for child in node.named_children:
        if child.type == "pair":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            name = string_value(key) if key is not None and key.type == "string" else text(key)
            if name and value is not None:
                found[name] = value
        elif child.type == "shorthand_property_identifier":
            found[text(child)] = child
    return found
