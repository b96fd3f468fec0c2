"""What a user runs after an export: the commands that build and push the image, those that apply
the manifests in order, and the README that says both. Pure."""

from __future__ import annotations

import shlex

from twelve.export.dockerfile import CONFIG_FILE, needs_app_config
from twelve.export.spec import ReleaseSpec

WAIT_TIMEOUT = "1800s"


def _path(directory: str, name: str) -> str:
    return shlex.quote(f"{directory.rstrip('/')}/{name}")


def build_commands(spec: ReleaseSpec, image: str, directory: str) -> list[str]:
    """Run in the app's source: check out the release's commit, build the image, push it."""
    commands = [f"git checkout {shlex.quote(spec.commit)}"] if spec.commit else []
    build = f"docker build -t {shlex.quote(image)} -f {_path(directory, 'Dockerfile')}"
    if needs_app_config(spec):
        build += f" --secret id=app-config,src={_path(directory, CONFIG_FILE)}"
    commands += [f"{build} .", f"docker push {shlex.quote(image)}"]
    return commands


def deploy_commands(
    files: list[str],
    *,
    directory: str,
    namespace: str | None,
    release_job: str | None,
    deployments: list[str],
    postdeploy_job: str | None,
) -> list[str]:
    """``kubectl`` commands in the order twelve itself deploys: config, the release phase (which
    must succeed), the processes, then postdeploy on the first deploy only.

    ``files`` are the manifests in apply order: the Secret first, then the release Job if any."""
    ns = f" -n {shlex.quote(namespace)}" if namespace else ""
    rest = list(files)
    commands = [f"kubectl apply -f {_path(directory, rest.pop(0))}"]
    if release_job:
        commands += [
            f"kubectl apply -f {_path(directory, rest.pop(0))}",
            f"kubectl wait{ns} --for=condition=complete --timeout={WAIT_TIMEOUT} job/{release_job}",
        ]
    last = rest.pop() if postdeploy_job else None
    if rest:
        commands.append("kubectl apply " + " ".join(f"-f {_path(directory, f)}" for f in rest))
    commands += [f"kubectl rollout status{ns} deployment/{name}" for name in deployments]
    if last:
        commands.append(f"kubectl apply -f {_path(directory, last)}  # the first deploy only")
    return commands


APPLY_NOTE = (
    "Apply in this order: the release Job must complete before the Deployments roll, as the\n"
    "release phase does on twelve (if it fails, `kubectl logs job/NAME` says why and nothing\n"
    "else changes)."
)
HELM_NOTE = (
    "Install or upgrade the chart: Helm runs the release Job as a pre-install/pre-upgrade hook\n"
    "and rolls the Deployments only when it succeeds; postdeploy is a post-install hook."
)


def readme(
    spec: ReleaseSpec,
    build: list[str],
    deploy: list[str],
    labels: dict[str, str],
    note: str = APPLY_NOTE,
) -> str:
    """README.md beside the manifests (or in the chart)."""
    renamed = [f"- `{kind}` → `{label}`" for kind, label in labels.items() if kind != label]
    lines = [
        f"# {spec.app} {spec.label} on Kubernetes",
        "",
        f"Exported by twelve from release {spec.label}"
        + (f" (commit {spec.commit})." if spec.commit else "."),
        "",
        "Build and push the image, in the app's source:",
        "",
        "```sh",
        *build,
        "```",
        "",
        note,
        "",
        "```sh",
        *deploy,
        "```",
    ]
    if renamed:
        lines += ["", "Process types renamed to valid DNS labels:", "", *renamed]
    return "\n".join(lines) + "\n"
