"""Procfile, .env, names and formation: what users write is parsed as Heroku and Foreman do."""

import pytest

from twelve.appspec.dotenv import format_dotenv, parse_assignments, parse_dotenv
from twelve.appspec.formation import default_formation, merge_formation, parse_scale_args
from twelve.appspec.names import validate_app_name, validate_domain
from twelve.appspec.procfile import Procfile, parse_procfile
from twelve.errors import SpecError, UsageError


def test_procfile_keeps_order_and_full_shell_commands() -> None:
    text = "# comment\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n\nworker: python w.py | tee x\n"
    procfile = parse_procfile(text)
    assert procfile.types == ["web", "worker"]
    assert procfile.command("worker") == "python w.py | tee x"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("web gunicorn\n", "Procfile:1"),
        ("web: a\nweb: b\n", "Procfile:2"),
        ("web:\n", "Procfile:1"),
    ],
)
def test_procfile_errors_name_the_line(text: str, where: str) -> None:
    with pytest.raises(SpecError, match=where):
        parse_procfile(text)


def test_dotenv_reads_quotes_exports_comments_and_multiline_values() -> None:
    text = (
        "export A=1\n"
        "B='literal $HOME \\n'\n"
        'C="line1\\nline2"\n'
        "D=value # trailing comment\n"
        'E="spans\nlines"\n'
        "# ignored\n"
        "F=\n"
    )
    assert parse_dotenv(text) == {
        "A": "1",
        "B": "literal $HOME \\n",
        "C": "line1\nline2",
        "D": "value",
        "E": "spans\nlines",
        "F": "",
    }


def test_dotenv_errors_name_the_file_and_line() -> None:
    with pytest.raises(SpecError, match=r"\.env:2"):
        parse_dotenv("A=1\nnot an assignment\n")
    with pytest.raises(SpecError, match=r"\.env:1: .*unterminated"):
        parse_dotenv('A="open\n')


def test_format_dotenv_round_trips_any_value() -> None:
    config = {
        "PLAIN": "abc",
        "SPACES": "a b",
        "QUOTES": 'say "hi"',
        "NL": "x\ny",
        "DOLLAR": "$HOME",
    }
    assert parse_dotenv(format_dotenv(config)) == config


def test_config_assignments_need_key_equals_value() -> None:
    assert parse_assignments(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_assignments(["JUSTAKEY"])
    with pytest.raises(UsageError, match="invalid config key"):
        parse_assignments(["1A=x"])


@pytest.mark.parametrize("name", ["Hello", "1app", "a_b", "a--b", "app-", "x" * 31, "../etc"])
def test_app_names_that_cannot_be_dns_labels_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="invalid app name"):
        validate_app_name(name)


def test_domains_are_lowercased_hostnames() -> None:
    assert validate_domain("WWW.Example.com.") == "www.example.com"
    with pytest.raises(UsageError):
        validate_domain("example.com/../x")


def test_default_formation_is_one_web_and_others_at_zero() -> None:
    procfile = Procfile({"web": "a", "worker": "b", "release": "c"})
    assert default_formation(procfile) == {"web": 1, "worker": 0}


def test_merge_keeps_counts_and_refuses_undeclared_types() -> None:
    procfile = Procfile({"web": "a", "worker": "b"})
    merged = merge_formation({"web": 3, "gone": 2}, procfile, {"worker": 1})
    assert merged == {"web": 3, "worker": 1}
    with pytest.raises(UsageError, match=r"no process type 'clock'"):
        merge_formation({}, procfile, {"clock": 1})


def test_scale_arguments() -> None:
    assert parse_scale_args(["web=2", "worker:1,clock=0"]) == {"web": 2, "worker": 1, "clock": 0}
    with pytest.raises(UsageError, match="TYPE=COUNT"):
        parse_scale_args(["web"])
    with pytest.raises(UsageError, match="too many"):
        parse_scale_args(["web=1000"])
