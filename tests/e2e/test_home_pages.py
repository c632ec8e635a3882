"""Signing in through the real login form and landing on each role's home page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()


def test_planner_signs_in_and_sees_planning_desk(page: Page, live_app) -> None:
    from sqlalchemy import select

    from cogrow.accounts import services as accounts
    from cogrow.accounts.models import User
    from cogrow.extensions import db

    # Other browser tests switch this demo user's language; the stored choice is what this test is about.
    with live_app.app_context():
        accounts.set_locale(db.session.scalar(select(User.id).where(User.email == "planner@hanbit.example.com")), "en")
    sign_in(page, "planner@hanbit.example.com")

    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    expect(page.locator("html")).to_have_attribute("lang", "en", timeout=TIMEOUT)  # stored locale wins
    expect(page.locator("[data-test=home-title]")).to_have_text("Planning desk", timeout=TIMEOUT)
    # The open PO value chart's table names the suppliers with POs outstanding.
    expect(page.locator("[data-test=open-po-value] table")).to_contain_text("Seoul Precision", timeout=TIMEOUT)
    expect(page.locator("[data-test=suppliers-link] a")).to_have_attribute("href", "/relationships", timeout=TIMEOUT)
    who = page.locator("[data-test=who]")
    expect(who).to_contain_text("Planner", timeout=TIMEOUT)
    expect(who.locator(".role-planner")).to_be_visible(timeout=TIMEOUT)
    # The page is a work queue: every queue is there, each with its count tile.
    for queue in ("proposals", "unacknowledged", "below-forecast", "firm-cuts", "authorizations"):
        expect(page.locator(f"[data-test=queue-{queue}] h2")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(f"[data-test=count-{queue}] .num")).to_have_text(re.compile(r"^\d+$"), timeout=TIMEOUT)
    # The demo issues POs that half the suppliers have not acknowledged yet.
    expect(page.locator("[data-test=unacknowledged-row]").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("[data-test=near-rule]")).to_contain_text("90%", timeout=TIMEOUT)


def test_production_user_signs_in_and_sees_production_desk(page: Page) -> None:
    sign_in(page, "production@seoul-precision.example.com")

    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    expect(page.locator("[data-test=home-title]")).to_be_visible(timeout=TIMEOUT)
    relationships = page.locator("[data-test=relationships]")
    expect(relationships).to_be_visible(timeout=TIMEOUT)
    # Seoul Precision serves both primes.
    expect(relationships).to_contain_text("Hanbit Motors", timeout=TIMEOUT)
    expect(relationships).to_contain_text("Daesung Heavy Industries", timeout=TIMEOUT)
    expect(relationships.locator("tbody tr")).to_have_count(2, timeout=TIMEOUT)
    # No stored locale: the page speaks Korean, so check the role by its code, not its label.
    who = page.locator("[data-test=who]")
    expect(who).to_contain_text("Seoul Precision", timeout=TIMEOUT)
    expect(who.locator(".role-production")).to_be_visible(timeout=TIMEOUT)
    for queue in ("acknowledge", "versions", "at-risk", "stale", "due"):
        expect(page.locator(f"[data-test=queue-{queue}] h2")).to_be_visible(timeout=TIMEOUT)
    # The demo's showcase: Hanbit's first item at Seoul Precision holds stock no one guaranteed.
    expect(page.locator("[data-test=at-risk-row][data-part='HA-BRK-1001']")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("[data-test=risk-by-customer]")).to_contain_text("Hanbit Motors", timeout=TIMEOUT)


def test_login_with_wrong_password_stays_on_login_with_error(page: Page) -> None:
    sign_in(page, "planner@hanbit.example.com", "not-the-password")

    expect(page.get_by_role("alert")).to_be_visible(timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"/login(\?.*)?$"), timeout=TIMEOUT)
    expect(page.locator("input[name=password]")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("[data-test=who]")).to_have_count(0)


def test_language_switch_changes_the_page_language(page: Page) -> None:
    sign_in(page, "admin@seoul-precision.example.com")

    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    html = page.locator("html")
    # No stored locale: the browser's Accept-Language (ko-KR) decides.
    expect(html).to_have_attribute("lang", "ko", timeout=TIMEOUT)

    page.locator("[data-test=lang-switch]").click()
    expect(html).to_have_attribute("lang", "en", timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"/home\??$"), timeout=TIMEOUT)
    expect(page.locator("[data-test=home-title]")).to_have_text("Administration", timeout=TIMEOUT)

    page.locator("[data-test=lang-switch]").click()
    expect(html).to_have_attribute("lang", "ko", timeout=TIMEOUT)
    expect(page.locator("[data-test=home-title]")).to_be_visible(timeout=TIMEOUT)
