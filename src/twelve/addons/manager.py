"""Add-ons as config: create, attach, detach and destroy, each change a release through the deployer.

The order of every operation leaves nothing half-made: a resource is provisioned, recorded, then
released; when the release fails the record and the resource go again. Release descriptions and
events name variables and add-ons, never a URL.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable

from twelve.addons import naming, rotation
from twelve.addons.provider import Provider
from twelve.addons.registry import Registry
from twelve.addons.url import external, name_stem
from twelve.deploy import Deployer
from twelve.errors import Conflict, ServiceError, UsageError
from twelve.store import Release, Store
from twelve.store.addons import Addon

Event = Callable[[str, str, str], None]  # (app, process, text)


class AddonManager:
    """The one place that changes add-ons; API handlers call it."""

    def __init__(self, store: Store, registry: Registry, deployer: Deployer, event: Event) -> None:
        self.store = store
        self.addons = store.addons
        self.registry = registry
        self.deployer = deployer
        self._event = event
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # One provisioning at a time: two creations must not pick the same Redis database.
        self._provisioning = asyncio.Lock()

    def list(self, app: str | None = None) -> list[Addon]:
        if app is not None:
            self.store.apps.get(app)
        return self.addons.live(app)

    def info(self, name: str) -> Addon:
        return self.addons.get(name)

    async def create(
        self, app: str, service: str, as_name: str | None = None, name: str | None = None
    ) -> tuple[Addon, Release | None]:
        """Provision a fresh database or key space for ``app`` and attach it."""
        kind = naming.service_kind(service)
        self.store.apps.get(app)
        var = naming.config_var(kind, as_name)
        addon_name = naming.validate_addon_name(name) if name else naming.new_addon_name(kind, app)
        async with self._locks[app]:
            self._refuse_var_clash(app, var)
            choice, provider = await self.registry.provider(kind)
            async with self._provisioning:
                existing = [a.resource for a in self.addons.on_server(kind, provider.server)]
                made = await provider.provision(addon_name, existing)
                addon = Addon(
                    addon_name,
                    app,
                    kind,
                    choice.provider,
                    provider.server,
                    var,
                    True,
                    made.url,
                    made.resource,
                    time.time(),
                )
                self.addons.add(addon)
            release = await self._attach_or_undo(addon, provider)
        self._event(app, "api", f"Add-on {addon_name} created on {provider.server} as {var}")
        return addon, release

    async def attach(
        self, app: str, target: str, as_name: str | None = None, replace: bool = False
    ) -> tuple[Addon, Release | None]:
        """Attach an external URL, or re-attach a detached add-on of ``app`` by its name.

        With ``replace``, a URL takes the variable of the add-on attached under it now, in one
        release, and that add-on is detached (keeping its data): a swap with no downtime.
        """
        self.store.apps.get(app)
        async with self._locks[app]:
            if "://" not in target:
                return await self._reattach(app, target, as_name)
            found = external(target, as_name)
            holder = self._holder(app, found.config_var) if replace else None
            if holder is None:
                self._refuse_var_clash(app, found.config_var)
            addon = Addon(
                naming.new_addon_name(name_stem(found.service), app),
                app,
                found.service,
                "external",
                found.server,
                found.config_var,
                True,
                found.url,
                {},
                time.time(),
            )
            self.addons.add(addon)
            note = f", replacing {holder.name}" if holder else ""
            release = await self._attach_or_undo(addon, None, note)
            if holder is not None:
                self._detached(holder)
        self._event(app, "api", f"Attached {addon.config_var} ({addon.name}){note}")
        return addon, release

    def _holder(self, app: str, var: str) -> Addon:
        """The add-on attached to ``app`` under ``var`` (what --replace replaces)."""
        for addon in self.addons.live(app):
            if addon.attached and addon.config_var == var:
                return addon
        raise Conflict(f"no add-on of {app} is attached as {var}", "attach without --replace")

    def _detached(self, addon: Addon) -> None:
        if addon.provisioned:
            self.addons.set_attachment(addon.name, addon.config_var, False)
        else:
            self.addons.mark_destroyed(addon.name)

    async def _reattach(
        self, app: str, name: str, as_name: str | None
    ) -> tuple[Addon, Release | None]:
        addon = self.addons.get(name)
        if addon.app != app:
            raise Conflict(f"{name} belongs to {addon.app}", "an add-on serves one app")
        if addon.attached:
            raise Conflict(f"{name} is already attached to {app} as {addon.config_var}")
        var = naming.config_var(addon.service, as_name) if as_name else addon.config_var
        self._refuse_var_clash(app, var)
        self.addons.set_attachment(name, var, True)
        try:
            release = await self.deployer.set_config(
                app, {var: addon.url}, description=f"Attach {var} ({name})"
            )
        except BaseException:
            self.addons.set_attachment(name, addon.config_var, False)
            raise
        return self.addons.get(name), release

    async def detach(self, app: str, name: str) -> Release | None:
        """Remove an add-on's variable from ``app``; a provisioned add-on keeps its data."""
        addon = self.addons.get(name)
        if addon.app != app:
            raise Conflict(f"{name} is not attached to {app}", f"it belongs to {addon.app}")
        async with self._locks[app]:
            if not addon.attached:
                raise Conflict(f"{name} is not attached to {app}")
            release = await self._unset(addon, "Detach")
            self._detached(addon)
        self._event(app, "api", f"Detached {addon.config_var} ({name})")
        return release

    async def destroy(self, name: str, confirm: str | None) -> Release | None:
        """Detach, then drop the database or key space and its data. Needs ``--confirm APP``."""
        addon = self.addons.get(name)
        if confirm != addon.app:
            raise UsageError(
                f"destroying {name} deletes its data for good",
                f"to proceed, add --confirm {addon.app}",
            )
        async with self._locks[addon.app]:
            provider = await self.provider_of(addon) if addon.provisioned else None
            release = await self._unset(addon, "Detach") if addon.attached else None
            if provider is not None:
                await provider.deprovision(addon.resource)
            self.addons.mark_destroyed(name)
        self._event(addon.app, "api", f"Add-on {name} destroyed")
        return release

    async def destroy_all(self, app: str) -> None:
        """Remove every add-on of ``app`` and its data, making no release: the app is going away.

        Call it before the app's processes and records are removed (``apps:destroy``).
        """
        async with self._locks[app]:
            for addon in self.addons.live(app):
                if addon.provisioned:
                    await (await self.provider_of(addon)).deprovision(addon.resource)
                self.addons.mark_destroyed(addon.name)
                self._event(app, "api", f"Add-on {addon.name} destroyed")

    async def rotate(self, app: str, name: str) -> Release | None:
        """New credentials for ``name``, released to ``app``; the old ones revoked once the
        processes that used them are gone (so no request fails on the way)."""
        addon = self.addons.get(name)
        if addon.app != app:
            raise Conflict(f"{name} is not an add-on of {app}", f"it belongs to {addon.app}")
        if not addon.provisioned or addon.service not in ("postgres", "redis"):
            raise UsageError(f"{name} is an attached URL: rotate its credentials where it lives")
        async with self._locks[app]:
            turn = await rotation.begin(await self.provider_of(addon), addon)
            self.addons.set_credentials(name, turn.url, turn.resource)
            try:
                release = None
                if addon.attached and self.store.config.get(app).get(addon.config_var) == addon.url:
                    release = await self.deployer.set_config(
                        app,
                        {addon.config_var: turn.url},
                        description=f"Rotate {addon.config_var} ({name}) credentials",
                    )
            except BaseException:
                self.addons.set_credentials(name, addon.url, addon.resource)
                await asyncio.shield(turn.undo())
                raise
            await self.deployer.supervisor.retired(app, self.deployer.settings.stop_timeout + 30)
            await turn.revoke()
        self._event(app, "api", f"Credentials of {name} rotated; the old ones are revoked")
        return release

    def rollback_notice(self, app: str, version: int) -> str | None:
        """What a rollback to ``version`` should say when add-on variables would change."""
        target = self.store.releases.get(app, version)
        changed = naming.rollback_addon_changes(
            self.addons.managed_vars(app), self.store.config.get(app), target.config
        )
        return naming.rollback_notice(changed, version)

    def _refuse_var_clash(self, app: str, var: str) -> None:
        if var in self.store.config.get(app):
            raise Conflict(
                f"{app} already has {var}",
                "attach under another name with --as NAME, swap an add-on's URL with --replace,"
                " or detach what sets it",
            )

    async def _attach_or_undo(
        self, addon: Addon, provider: Provider | None, note: str = ""
    ) -> Release | None:
        try:
            return await self.deployer.set_config(
                addon.app,
                {addon.config_var: addon.url},
                description=f"Attach {addon.config_var} ({addon.name}){note}",
            )
        except BaseException:
            self.addons.delete(addon.name)
            if provider is not None:
                await asyncio.shield(provider.deprovision(addon.resource))
            raise

    async def _unset(self, addon: Addon, verb: str) -> Release | None:
        # Leave a value the user set by hand since: only the add-on's own URL is removed.
        if self.store.config.get(addon.app).get(addon.config_var) != addon.url:
            return None
        return await self.deployer.set_config(
            addon.app,
            {addon.config_var: None},
            description=f"{verb} {addon.config_var} ({addon.name})",
        )

    async def provider_of(self, addon: Addon) -> Provider:
        """The provider that made ``addon``, checked to still point at the same server."""
        if "dedicated" in addon.resource:
            return self.registry.dedicated_redis()
        choice, provider = await self.registry.provider(addon.service)
        # A twelve-run add-on made on the shared server (every Redis one before add-ons had
        # servers of their own) is still removed there.
        if addon.provider == "twelve" and (choice.provider != "twelve" or addon.service == "redis"):
            provider = self.registry.self_run(
                addon.service, await self.registry.runner.admin_url(addon.service)
            )
        if provider.server != addon.server:
            raise ServiceError(
                f"{addon.name} lives on {addon.server}, but twelve now provisions on "
                f"{provider.server}",
                "point the admin URL back at that server to remove it",
            )
        return provider
