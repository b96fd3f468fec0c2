"""The ACME protocol through certbot's ``acme`` package: blocking calls, run in a thread by
``twelve.acme.manager``. Failures leave here as ``CaError``, one line in the CA's own words.

``badNonce`` is retried once by the library, as RFC 8555 section 6.5 asks; a second one in a row,
like any other error, fails the step and the manager backs off and tries again. A CA that says
``rateLimited`` or answers 503 gives its ``Retry-After`` with the error (``CaError.not_before``),
and no try comes before it.

The library answers HTTP-01; TLS-ALPN-01 (RFC 8737), which it no longer models, is a challenge of
another type whose key authorization is made the same way and whose answer is the same empty
object: the validation certificate itself is the router's to present (``twelve.router.tls``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy.b64 import b64encode
from josepy.jwk import JWKRSA

from twelve.acme.schedule import retry_after_at

USER_AGENT = "twelve-acme"
NETWORK_TIMEOUT = 30
HTTP_01 = "http-01"
TLS_ALPN_01 = "tls-alpn-01"
ARI_DEFAULT_RETRY = dt.timedelta(hours=6)  # RFC 9773 section 4.3.3, when the CA names none


@dataclass
class CaError(Exception):
    """A step of an order failed; ``keep_order`` when the order itself may still be resumed."""

    message: str
    domain_errors: Mapping[str, str] = field(default_factory=dict)
    keep_order: bool = False
    not_before: dt.datetime | None = None  # the CA's Retry-After with a refusal

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Challenge:
    domain: str
    token: str
    key_authorization: str
    body: messages.ChallengeBody
    answer: bool  # still pending: the CA waits for us to say it may validate
    kind: str = HTTP_01

    @property
    def alpn_digest(self) -> str:
        """SHA-256 of the key authorization, hex: the acmeIdentifier of a TLS-ALPN-01 answer."""
        return hashlib.sha256(self.key_authorization.encode()).hexdigest()


@dataclass(frozen=True)
class RenewalWindow:
    """What the CA's renewal information (ARI) says: its suggested window (None: the CA offers
    none) and when to ask again (its ``Retry-After``, None when it names none)."""

    window: tuple[dt.datetime, dt.datetime] | None
    ask_again: dt.datetime | None


class Throttled(Exception):
    """The CA refused for now (``rateLimited``, or 503) and said when to come back."""

    def __init__(self, message: str, not_before: dt.datetime | None) -> None:
        super().__init__(message)
        self.message = message
        self.not_before = not_before


class _EmptyResponse(challenges.KeyAuthorizationChallengeResponse):
    """The answer to a challenge the library does not model: an empty object, as for HTTP-01."""

    typ = TLS_ALPN_01


class _Network(client.ClientNetwork):
    """The library's network, keeping the ``Retry-After`` of a refusal it would drop."""

    @classmethod
    def _check_response(
        cls, response: requests.Response, content_type: str | None = None
    ) -> requests.Response:
        try:
            return super()._check_response(response, content_type)
        except (messages.Error, errors.ClientError) as exc:
            code = exc.code if isinstance(exc, messages.Error) else None
            if code == "rateLimited" or response.status_code in (429, 503):
                when = retry_after_at(response.headers.get("Retry-After"), _now())
                text = _problem(exc) if isinstance(exc, messages.Error) else None
                raise Throttled(
                    text or f"the CA answered {response.status_code} {response.reason}", when
                ) from exc
            raise


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    if isinstance(exc, Throttled):
        return CaError(exc.message, keep_order=True, not_before=exc.not_before)
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
        self.net = _Network(
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

    def challenges(self, order: messages.OrderResource, kind: str = HTTP_01) -> list[Challenge]:
        """The challenge of type ``kind`` of each authorization not yet valid."""
        found = []
        for authzr in order.authorizations:
            authz = authzr.body
            if authz.status == messages.STATUS_VALID:
                continue
            domain = str(authz.identifier.value)
            offered = [c for c in authz.challenges if _type_of(c) == kind]
            if not offered:
                raise CaError(
                    f"{domain}: the CA offers no {kind} challenge", {domain: f"no {kind}"}
                )
            body = offered[0]
            token = _token_of(body)
            found.append(
                Challenge(
                    domain,
                    token,
                    f"{token}.{self._thumbprint()}",
                    body,
                    body.status == messages.STATUS_PENDING,
                    kind,
                )
            )
        return found

    def _thumbprint(self) -> str:
        digest = self.key.thumbprint(hash_function=hashes.SHA256)
        return b64encode(digest).decode()

    def answer(self, challenge: Challenge) -> None:
        chall = challenge.body.chall
        response = (
            chall.response(self.key)
            if isinstance(chall, challenges.KeyAuthorizationChallenge)
            else _EmptyResponse(key_authorization=challenge.key_authorization)
        )
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

    def renewal_window(self, cert_pem: bytes) -> RenewalWindow:
        """The CA's renewal information (ARI, RFC 9773) for a certificate: the suggested window
        as the CA gives it (the library's own call picks a new time in it at every fetch, where
        the schedule keeps its pick while the window holds)."""
        try:
            base = str(self.client.directory["renewalInfo"])
        except KeyError:  # the CA offers none
            return RenewalWindow(None, None)
        response = self.net.get(f"{base.rstrip('/')}/{ari_cert_id(cert_pem)}")
        suggested = messages.RenewalInfo.from_json(response.json()).suggested_window
        ask_again = retry_after_at(response.headers.get("Retry-After"), _now())
        if suggested.start is None or suggested.end is None:
            return RenewalWindow(None, ask_again)
        start, end = _aware(suggested.start), _aware(suggested.end)
        return RenewalWindow((start, end) if start <= end else None, ask_again)


def ari_cert_id(cert_pem: bytes) -> str:
    """A certificate's ARI identifier: its authority key identifier and serial number (as DER
    integer bytes), each base64url without padding, joined by a dot (RFC 9773 section 4.1)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    if aki.key_identifier is None:
        raise CaError("the certificate has no authority key identifier for renewal information")
    serial = cert.serial_number
    serial_bytes = serial.to_bytes(serial.bit_length() // 8 + 1, "big")
    return f"{b64encode(aki.key_identifier).decode()}.{b64encode(serial_bytes).decode()}"


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _type_of(body: messages.ChallengeBody) -> str | None:
    chall = body.chall
    if isinstance(chall, challenges.UnrecognizedChallenge):
        kind = chall.jobj.get("type")
        return kind if isinstance(kind, str) else None
    return str(chall.typ)


def _token_of(body: messages.ChallengeBody) -> str:
    chall = body.chall
    if isinstance(chall, challenges.KeyAuthorizationChallenge):
        return str(chall.encode("token"))
    token = chall.jobj.get("token") if isinstance(chall, challenges.UnrecognizedChallenge) else None
    if not isinstance(token, str) or not token:
        raise CaError(f"the CA's {_type_of(body)} challenge has no token")
    return token
