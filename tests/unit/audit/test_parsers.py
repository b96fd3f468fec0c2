"""The small parsers rules rely on: nginx config, shell lines, Dockerfiles, requirements, .env names."""

from __future__ import annotations

import pytest

from twelve.audit.formats import dockerfile_instructions, requirements, simple_commands
from twelve.audit.nginx import NginxSyntaxError, parse_nginx


def test_nginx_directives_carry_their_block_and_line() -> None:
    """A directive knows the blocks around it, so ip_hash is judged inside an upstream only."""
    text = "http {\n  upstream app {\n    ip_hash;\n    server a:1;\n  }\n}\n"
    directives = parse_nginx(text)
    ip_hash = next(d for d in directives if d.name == "ip_hash")
    assert ip_hash.line == 3
    assert ip_hash.context == ("http", "upstream")


def test_nginx_reads_quotes_comments_and_template_placeholders() -> None:
    """Templated config ({{ }}, {% %}) and quoted values with braces parse instead of crashing."""
    text = (
        "# comment { not a block\n"
        "upstream {{ name }} { server {{ host }}:{{ port }}; }\n"
        "{% if tls %}\n"
        'server { return 200 "a { b }"; set $x ${y}; }\n'
    )
    found = [(d.name, d.args, d.context) for d in parse_nginx(text)]
    assert found == [
        ("upstream", ("{{ name }}",), ()),
        ("server", ("{{ host }}", ":", "{{ port }}"), ("upstream",)),
        ("server", (), ()),
        ("return", ("200", "a { b }"), ("server",)),
        ("set", ("$x", "${y}"), ("server",)),
    ]


@pytest.mark.parametrize(
    "text", ["upstream app {\n server a;\n", "server { }\n}", 'return "open;', "{ x; }", "x {{ y"]
)
def test_nginx_unbalanced_input_is_a_syntax_error(text: str) -> None:
    """A file that is not nginx config is reported as not parsed, never as a crash."""
    with pytest.raises(NginxSyntaxError):
        parse_nginx(text)


def test_shell_lines_split_into_commands_with_quotes_respected() -> None:
    """&& inside quotes stays in its argument; sh -c is opened; env prefixes and exec are dropped."""
    assert simple_commands("PORT=1 exec gunicorn -b :$PORT app # note") == [
        ["gunicorn", "-b", ":$PORT", "app"]
    ]
    assert simple_commands("sh -c 'npm run build && node s.js'") == [
        ["npm", "run", "build"],
        ["node", "s.js"],
    ]
    assert simple_commands("ssh host 'a && b' | tee log") == [
        ["ssh", "host", "a && b"],
        ["tee", "log"],
    ]
    assert simple_commands("nohup python w.py &") == [["nohup", "python", "w.py"]]


def test_unterminated_quotes_fall_back_to_words() -> None:
    assert simple_commands("echo 'oops") == [["echo", "'oops"]]


def test_dockerfile_joins_continuations_and_reads_exec_form() -> None:
    """RUN lines continued with backslashes are one instruction, numbered by their first line."""
    text = (
        'FROM python\n# c\nRUN pip install \\\n    a \\\n    b\nCMD ["gunicorn", "-b", ":8000"]\n'
    )
    found = dockerfile_instructions(text)
    assert [(c.name, c.line) for c in found] == [("FROM", 1), ("RUN", 3), ("CMD", 6)]
    assert found[1].text.split() == ["pip", "install", "a", "b"]
    assert found[2].text == "gunicorn -b :8000"


def test_requirements_skip_options_urls_and_comments() -> None:
    text = (
        "# top\nflask>=2  # web\n-r base.txt\ngit+https://x/y.git\n"
        "requests==2.32.3; python_version>'3'\nuvicorn[standard]==0.30\n"
    )
    found = [(r.name, r.spec, r.line) for r in requirements(text)]
    assert found == [("flask", ">=2", 2), ("requests", "==2.32.3", 5), ("uvicorn", "==0.30", 6)]
