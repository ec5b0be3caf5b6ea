"""Splits by domain: deterministic, proportional, and subdomains of one site kept together."""

from __future__ import annotations

from collections import Counter

import pytest

from storysplit.train.corpus.sources import readability_domain, site_domain
from storysplit.train.corpus.splits import split_for_domain


def test_split_is_a_pure_function_of_the_domain() -> None:
    domains = [f"site{number}.example.org" for number in range(300)]
    first = [split_for_domain(domain, (0.7, 0.15, 0.15)) for domain in domains]
    assert first == [split_for_domain(domain.upper(), (0.7, 0.15, 0.15)) for domain in domains]
    shares = Counter(first)
    assert 150 < shares["train"] < 250 and shares["validation"] > 20 and shares["test"] > 20


def test_zero_fractions_are_never_chosen() -> None:
    assert {split_for_domain(f"d{n}.com", (0.0, 0.0, 1.0)) for n in range(50)} == {"test"}
    assert {split_for_domain(f"d{n}.com", (1.0, 0.0, 0.0)) for n in range(50)} == {"train"}
    with pytest.raises(ValueError, match="split_fractions"):
        split_for_domain("a.com", (0.0, 0.0, 0.0))


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("cloud.google.com", "google.com"),
        ("WWW.NYTimes.com.", "nytimes.com"),
        ("localhost", "localhost"),
        ("news.example.com.au", "example.com.au"),
        # The Public Suffix List knows registrations under third levels the two-label rule missed.
        ("sect.iij.ad.jp", "iij.ad.jp"),
        ("www.bcbudget.gov.bc.ca", "gov.bc.ca"),
        ("www.dec.state.ny.us", "state.ny.us"),
        ("www.treasury.govt.nz", "treasury.govt.nz"),
        ("user@www.Example.co.uk:8080", "example.co.uk"),
        ("216.31.193.173", "216.31.193.173"),
        ("intranet.team.internal", "team.internal"),
        ("co.uk", "co.uk"),
    ],
)
def test_site_domain_folds_subdomains(host: str, domain: str) -> None:
    assert site_domain(host) == domain


def test_readability_domain_from_canonical_link_else_folder() -> None:
    html = '<head><link href="https://www.nytimes.com/2017/x.html" rel="canonical"></head>'
    assert readability_domain(html, "nytimes-3") == "nytimes.com"
    og = '<meta property="og:url" content="http://blog.mozilla.org/post">'
    assert readability_domain(og, "mozilla-1") == "mozilla.org"
    assert readability_domain("<p>no links</p>", "nytimes-3") == "readability:nytimes"
    assert readability_domain("<p>no links</p>", "001") == "readability:001"
