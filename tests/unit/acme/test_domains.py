"""Which of an app's domains its automatic certificate covers."""

from __future__ import annotations

from twelve.acme.domains import certificate_names, needs_new_certificate, skipped_names


def test_custom_domains_are_ordered_sorted_and_once() -> None:
    names = certificate_names(["WWW.Example.com.", "example.com", "www.example.com"], "apps.test")
    assert names == ("example.com", "www.example.com")


def test_names_http01_cannot_prove_are_left_out_and_said() -> None:
    domains = ["*.example.com", "10.0.0.1", "api.localhost", "hello.apps.test", "ok.example.org"]
    assert certificate_names(domains, "apps.test") == ("ok.example.org",)
    assert skipped_names(domains, "apps.test") == (
        "*.example.com",
        "10.0.0.1",
        "api.localhost",
        "hello.apps.test",
    )


def test_a_name_added_or_removed_needs_a_new_certificate() -> None:
    assert not needs_new_certificate(["B.example", "a.example"], ("a.example", "b.example"))
    assert needs_new_certificate(["a.example"], ("a.example", "b.example"))
    assert needs_new_certificate(["a.example", "b.example"], ("a.example",))
