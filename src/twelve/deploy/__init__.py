"""Deploys, rollbacks, config changes, scaling and limits: each a plan of steps (``steps.py``),
decided by pure planners (``plan.py``) and done in order by one runner (``runner.py``); the
deployer (``deployer.py``) holds each app's lock and reads what the planners need."""

from twelve.deploy.deployer import Deployer

__all__ = ["Deployer"]
