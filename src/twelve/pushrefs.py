"""Which pushed ref deploys (pure; the pre-receive hook imports it, so it stays light)."""

from __future__ import annotations

from twelve.errors import UsageError

DEPLOY_REFS = ("refs/heads/main", "refs/heads/master")
ZERO = "0" * 40


def pick_deploy(updates: list[tuple[str, str, str]]) -> str:
    """Which pushed commit to deploy, from pre-receive's ``old new ref`` lines. Pure.

    Pushing main or master deploys; another branch, or deleting the deployed branch, is refused.
    """
    for _old, new, ref in updates:
        if ref in DEPLOY_REFS:
            if new == ZERO:
                raise UsageError(f"deleting {ref.removeprefix('refs/heads/')} is not allowed")
            return new
    names = ", ".join(ref.removeprefix("refs/heads/") for _o, _n, ref in updates) or "nothing"
    raise UsageError(
        f"pushed {names}; only main or master deploy",
        "push with 'git push twelve HEAD:main'",
    )
