"""Which inputs decide an app's environment, so an unchanged redeploy can reuse it (pure)."""

from twelve.build.environments import environment_key, reusable
from twelve.build.plan import SourceFacts, plan_build


def steps(version: tuple[int, int, int] = (3, 12, 1)) -> tuple:  # type: ignore[type-arg]
    facts = SourceFacts(files=frozenset({"requirements.txt"}), python_version=version)
    return plan_build(facts).steps


def test_the_key_changes_with_any_dependency_file_the_interpreter_or_the_install_commands() -> None:
    files = {"requirements.txt": b"flask==3.1.3\n"}
    key = environment_key(files, "/py 3.12.1", steps())
    assert environment_key(dict(files), "/py 3.12.1", steps()) == key
    assert environment_key({"requirements.txt": b"flask==3.1.2\n"}, "/py 3.12.1", steps()) != key
    assert environment_key({**files, "uv.lock": b""}, "/py 3.12.1", steps()) != key
    assert environment_key(files, "/py 3.12.2", steps()) != key
    # Python 3.11 adds setuptools and wheel: another install command, another environment.
    assert environment_key(files, "/py 3.12.1", steps((3, 11, 9))) != key


def test_files_the_key_cannot_see_make_an_app_install_afresh() -> None:
    assert reusable({"requirements.txt": b"flask\ngunicorn==23.0.0\n"})
    for line in (b"-r base.txt", b"-e .", b"./vendor/pkg", b"file:///x.whl", b"-c constraints.txt"):
        assert not reusable({"requirements.txt": b"flask\n" + line + b"\n"}), line
    assert not reusable({"uv.lock": b'[[package]]\nsource = { editable = "libs/core" }\n'})
    assert not reusable({"uv.lock": b'[[package]]\nsource = { path = "dist/x.whl" }\n'})
    assert reusable({"uv.lock": b'[[package]]\nsource = { editable = "." }\n'}), "the app itself"
    assert reusable(
        {"uv.lock": b'[[package]]\nsource = { registry = "https://pypi.org/simple" }\n'}
    )
