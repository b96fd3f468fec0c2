"""The ACME protocol through certbot's ``acme`` package: blocking calls, run in a thread by
``twelve.acme.manager``. Failures leave here as ``CaError``, one line in the CA's own words.

``badNonce`` is retried once by the library, as RFC 8555 section 6.5 asks; a second one in a row,
like any other error, fails the step and the manager backs off and tries again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy.jwk import JWKRSA

USER_AGENT = "twelve-acme"
NETWORK_TIMEOUT = 30


@dataclass
class CaError(Exception):
    """A step of an order failed; ``keep_order`` when the order itself may still be resumed."""

    message: str
    domain_errors: Mapping[str, str] = field(default_factory=dict)
    keep_order: bool = False

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Challenge:
    domain: str
    token: str
    key_authorization: str
    body: messages.ChallengeBody
    answer: bool  # still pending: the CA waits for us to say it may validate


def new_account_key() -> str:
    """A new account key as JWK JSON (RSA 2048 signs with RS256, which every CA accepts)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return str(JWKRSA(key=key).json_dumps())


def new_certificate_key() -> bytes:
    """A new EC P-256 key for a certificate, PEM (PKCS#8)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def csr_for(key_pem: bytes, names: tuple[str, ...]) -> bytes:
    return crypto_util.make_csr(key_pem, list(names))


def _problem(error: messages.Error) -> str:
    kind = error.code or str(error.typ)
    return f"{kind}: {error.detail}" if error.detail else kind


def translate(exc: BaseException) -> CaError:
    """Any failure of a step as a one-line ``CaError``."""
    if isinstance(exc, CaError):
        return exc
    if isinstance(exc, errors.ValidationError):
        per_domain: dict[str, str] = {}
        for authzr in exc.failed_authzrs:
            problems = [_problem(c.error) for c in authzr.body.challenges if c.error is not None]
            per_domain[str(authzr.body.identifier.value)] = "; ".join(problems) or "invalid"
        summary = "; ".join(f"{d}: {e}" for d, e in sorted(per_domain.items()))
        return CaError(f"authorization failed: {summary}", per_domain)
    if isinstance(exc, errors.IssuanceError):
        return CaError(f"issuance failed: {_problem(exc.error)}")
    if isinstance(exc, messages.Error):
        return CaError(_problem(exc), keep_order=exc.code in ("badNonce", "rateLimited"))
    if isinstance(exc, errors.TimeoutError):
        return CaError("the CA did not finish in time", keep_order=True)
    if isinstance(exc, requests.RequestException):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return CaError(f"cannot reach the CA: {reason}", keep_order=True)
    return CaError(f"{type(exc).__name__}: {exc}".splitlines()[0], keep_order=True)


class AcmeClient:
    """One account at one CA's directory."""

    def __init__(self, directory_url: str, verify: str | bool, account_key_json: str) -> None:
        self.key = JWKRSA.json_loads(account_key_json)
        # requests takes a CA bundle's path where the library declares a flag.
        self.net = client.ClientNetwork(
            self.key, verify_ssl=cast(bool, verify), user_agent=USER_AGENT, timeout=NETWORK_TIMEOUT
        )
        self.verify = verify
        directory = client.ClientV2.get_directory(directory_url, self.net)
        self.client = client.ClientV2(directory, self.net)

    def account(self, uri: str | None, email: str | None) -> str:
        """Use account ``uri``, or register one (or find the key's existing one); its URL."""
        if uri:
            self.net.account = messages.RegistrationResource(uri=uri, body=messages.Registration())
            return uri
        registration = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True)
        try:
            regr = self.client.new_account(registration)
        except errors.ConflictError as exc:  # the key has an account already: its URL
            regr = messages.RegistrationResource(uri=exc.location, body=messages.Registration())
        self.net.account = regr
        return str(regr.uri)

    def new_order(self, csr_pem: bytes) -> messages.OrderResource:
        return self.client.new_order(csr_pem)

    def load_order(self, url: str, csr_pem: bytes) -> messages.OrderResource:
        """The order at ``url`` as the CA sees it now (to resume it after a restart)."""
        body = messages.Order.from_json(self._get(url).json())
        authorizations = []
        for authz_url in body.authorizations:
            authz = messages.Authorization.from_json(self._get(authz_url).json())
            authorizations.append(messages.AuthorizationResource(body=authz, uri=authz_url))
        return messages.OrderResource(
            body=body, uri=url, authorizations=authorizations, csr_pem=csr_pem
        )

    def _get(self, url: str) -> requests.Response:
        return self.net.post(url, None, new_nonce_url=self.client.directory["newNonce"])

    def challenges(self, order: messages.OrderResource) -> list[Challenge]:
        """The HTTP-01 challenge of each authorization not yet valid."""
        found = []
        for authzr in order.authorizations:
            authz = authzr.body
            if authz.status == messages.STATUS_VALID:
                continue
            domain = str(authz.identifier.value)
            http01 = [c for c in authz.challenges if isinstance(c.chall, challenges.HTTP01)]
            if not http01:
                raise CaError(
                    f"{domain}: the CA offers no http-01 challenge", {domain: "no http-01"}
                )
            body = http01[0]
            chall = body.chall
            assert isinstance(chall, challenges.HTTP01)
            found.append(
                Challenge(
                    domain,
                    chall.encode("token"),
                    chall.key_authorization(self.key),
                    body,
                    body.status == messages.STATUS_PENDING,
                )
            )
        return found

    def answer(self, challenge: Challenge) -> None:
        response = challenge.body.chall.response(self.key)
        self.client.answer_challenge(challenge.body, response)

    def status(self, order: messages.OrderResource) -> str:
        return str(order.body.status)

    def wait_authorized(
        self, order: messages.OrderResource, deadline: dt.datetime
    ) -> messages.OrderResource:
        return self.client.poll_authorizations(order, deadline)

    def finalize(self, order: messages.OrderResource, deadline: dt.datetime) -> str:
        """Finalize (unless the CA already did) and fetch the certificate chain, PEM."""
        if order.body.status in (messages.STATUS_PROCESSING, messages.STATUS_VALID):
            done = self.client.poll_finalization(order, deadline)
        else:
            done = self.client.finalize_order(order, deadline)
        return str(done.fullchain_pem)

    def renewal_window_start(self, cert_pem: bytes) -> dt.datetime | None:
        """When the CA's renewal information (ARI) suggests renewing, if it offers any."""
        try:
            start, _ = self.client.renewal_time(cert_pem)
        except errors.ARIError:
            return None
        if start is None:
            return None
        return start if start.tzinfo else start.replace(tzinfo=dt.UTC)
