"""The commands an export prints and writes in its README deploy in twelve's order: config, then the
release phase, which must complete, then the processes, then postdeploy on the first deploy."""

from __future__ import annotations

import re

from twelve.export.kubernetes import export_kubernetes
from twelve.export.spec import release_from_document
from unit.export.releases import document, spec_of

IMAGE = "registry.test/shop:v7"


def test_the_apply_order_waits_for_the_release_job_before_the_deployments() -> None:
    result = export_kubernetes(spec_of(), IMAGE, namespace="prod", directory="/tmp/k8s shop")
    deploy = result.deploy
    assert deploy[0] == "kubectl apply -f '/tmp/k8s shop/00-secret-shop-env-v7.yaml'"
    assert deploy[1] == "kubectl apply -f '/tmp/k8s shop/01-job-shop-release-v7.yaml'"
    assert (
        deploy[2]
        == "kubectl wait -n prod --for=condition=complete --timeout=1800s job/shop-release-v7"
    )
    processes = re.findall(r"-f '[^']*/(\S+?)'", deploy[3])
    assert processes == [
        "02-deployment-shop-web.yaml",
        "03-deployment-shop-worker-2.yaml",
        "04-deployment-shop-clock.yaml",
        "05-service-shop-web.yaml",
        "06-ingress-shop.yaml",
    ]
    assert "kubectl rollout status -n prod deployment/shop-web" in deploy
    assert deploy[-1].startswith("kubectl apply -f '/tmp/k8s shop/07-job-shop-postdeploy.yaml'")
    applied = [f for command in deploy for f in re.findall(r"/(\d\d-[^' ]+\.yaml)", command)]
    manifests = sorted(n for n in result.files if n.endswith(".yaml"))
    assert applied == manifests  # every manifest, once, in file order


def test_without_a_release_phase_the_processes_follow_the_config() -> None:
    doc = document(postdeploy=None)
    del doc["release"]["procfile"]["release"]
    deploy = export_kubernetes(release_from_document(doc), IMAGE, directory="out").deploy
    assert deploy[0] == "kubectl apply -f out/00-secret-shop-env-v7.yaml"
    assert deploy[1].startswith("kubectl apply -f out/01-deployment-shop-web.yaml")
    assert not any("wait" in command for command in deploy)


def test_the_readme_holds_the_build_and_deploy_commands() -> None:
    result = export_kubernetes(spec_of(), IMAGE, directory="out")
    readme = result.files["README.md"]
    for command in result.build + result.deploy:
        assert command in readme
    assert readme.index(result.build[-1]) < readme.index(result.deploy[0])
