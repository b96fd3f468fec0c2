"""A tokenizer and parser for nginx-style configuration: directives, blocks, quotes, comments (pure).

Template placeholders such as ``{{ upstream }}`` are read as one word, so templated config files
parse instead of unbalancing the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass


class NginxSyntaxError(ValueError):
    """The file is not nginx-style config (unbalanced braces, unterminated quote)."""


@dataclass(frozen=True)
class Directive:
    """``name args...;`` or ``name args... { ... }`` with the enclosing block names."""

    name: str
    args: tuple[str, ...]
    line: int
    context: tuple[str, ...]


def _tokens(text: str) -> list[tuple[str, int]]:
    tokens: list[tuple[str, int]] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("{{", i) or text.startswith("{%", i):
            end = text.find("}}" if text[i + 1] == "{" else "%}", i)
            if end < 0:
                raise NginxSyntaxError(f"line {line}: unterminated template placeholder")
            # {{ x }} stands for a word; {% if %} control lines are dropped.
            if text[i + 1] == "{":
                tokens.append((text[i : end + 2], line))
            line += text.count("\n", i, end)
            i = end + 2
        elif ch in "{};":
            tokens.append((ch, line))
            i += 1
        elif ch in "\"'":
            end = i + 1
            while end < n and text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            if end >= n:
                raise NginxSyntaxError(f"line {line}: unterminated quote")
            tokens.append((text[i + 1 : end], line))
            line += text.count("\n", i, end)
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "{};\"'":
                if text[i] == "$" and i + 1 < n and text[i + 1] == "{":
                    close = text.find("}", i)
                    i = close + 1 if close > 0 else i + 1
                    continue
                i += 1
            tokens.append((text[start:i], line))
    return tokens


def parse_nginx(text: str) -> list[Directive]:
    """Every directive in file order; raises NginxSyntaxError when the blocks do not balance."""
    found: list[Directive] = []
    context: list[str] = []
    words: list[tuple[str, int]] = []
    for piece, line in _tokens(text):
        if piece in {";", "{"}:
            if words:
                name, first = words[0]
                found.append(Directive(name, tuple(w for w, _ in words[1:]), first, tuple(context)))
                if piece == "{":
                    context.append(name)
            elif piece == "{":
                raise NginxSyntaxError(f"line {line}: block without a name")
            words = []
        elif piece == "}":
            if not context or words:
                raise NginxSyntaxError(f"line {line}: unexpected '}}'")
            context.pop()
        else:
            words.append((piece, line))
    if context or words:
        raise NginxSyntaxError("unexpected end of file: a block or directive is not closed")
    return found
