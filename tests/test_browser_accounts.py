"""Accounts in a real browser: invitations, logging in and out, two-factor authentication."""

import email
import re
import time
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect

from judging.extensions import db
from judging.services.accounts import create_user
from judging.services.notifications import invitation_link

from .fixtures.domain import PASSWORD
from .fixtures.mail import outbox_message

pytestmark = pytest.mark.browser

AWARD_TITLE = "Excellence Award: Cities Innovation for Social Change"
NEW_PASSWORD = "lantern meadow copper violin"
# A broken page should fail its test in seconds, not after Playwright's 30-second default.
TIMEOUT_MS = 15_000  # generous: CI machines are shared and slow at times


@pytest.fixture(autouse=True)
def fail_fast(page):
    page.set_default_timeout(TIMEOUT_MS)


def second_device(browser):
    """Another person's browser: its own cookies, a tablet's screen."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def on_live_server(link: str, live_server) -> str:
    """The same link, on the live server rather than on the address it was made for."""
    parts = urlsplit(link)
    return f"{live_server.url}{parts.path}"


def newest_mail(app) -> email.message.EmailMessage:
    """The newest message, once the live server's sender thread has written it."""
    return outbox_message(app)


def invite_first_admin(live_server) -> str:
    """What `flask users first-admin` does: an account without a password, and its link."""
    admin = create_user("ada@example.org", "Ada Admin", "admin", actor=None)
    link = invitation_link(admin)
    db.session.commit()
    return on_live_server(link, live_server)


def set_password(page, password: str, confirm: str | None = None) -> None:
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password if confirm is None else confirm)
    page.get_by_role("button", name="Set password and continue").click()


def log_in(page, live_server, address: str, password: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def click_to(page, target, path: str) -> int:
    """Click `target`, and return the status of the page at `path` it leads to."""
    with page.expect_response(
        lambda r: r.request.method == "GET" and urlsplit(r.url).path == path
    ) as response:
        target.click()
    return response.value.status


def log_out(page) -> None:
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def test_first_admin_invites_a_juror_who_logs_in(app, browser, page, live_server, seeded_award):
    page.goto(invite_first_admin(live_server))
    expect(page.get_by_role("heading", name="Welcome, Ada Admin")).to_be_visible()
    expect(page.get_by_text("ada@example.org")).to_be_visible()

    # Too short: the error sits next to the password field, and the page still knows who we are.
    set_password(page, "short")
    password = page.get_by_label("New password")
    expect(password).to_have_attribute("aria-invalid", "true")
    error = page.locator(".field.has-error .field-error")
    expect(error).to_contain_text("at least 12 characters")
    described_by = password.get_attribute("aria-describedby") or ""
    assert error.get_attribute("id") in described_by.split()
    expect(page.get_by_role("heading", name="Welcome, Ada Admin")).to_be_visible()
    expect(page.locator("input[name=username]")).to_have_value("ada@example.org")

    set_password(page, NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    expect(page.get_by_text("Your password is set. Welcome!")).to_be_visible()

    # Invite a juror onto the award's jury.
    people_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="People")
    assert click_to(page, people_link, "/admin/people") == 200
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Name").fill("Jane Juror")
    invite.get_by_label("Email").fill("jane@example.org")
    invite.get_by_label("Juror").check()
    invite.get_by_label(AWARD_TITLE).check()
    send = invite.get_by_role("button", name="Send invitation")
    assert click_to(page, send, "/admin/people") == 200
    expect(page.get_by_text("Invitation queued for jane@example.org")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="jane@example.org")
    expect(row).to_contain_text("Jane Juror")
    expect(row).to_contain_text("Invited")
    expect(row).to_contain_text(AWARD_TITLE)

    mail = newest_mail(app)
    assert mail["To"] == "jane@example.org"
    body = mail.get_content()
    assert AWARD_TITLE in body
    link = re.search(r"https?://\S+/invitation/\S+", body).group(0)

    # The juror, on her own device.
    context = second_device(browser)
    try:
        juror = context.new_page()
        juror.goto(on_live_server(link, live_server))
        expect(juror.get_by_role("heading", name="Welcome, Jane Juror")).to_be_visible()
        set_password(juror, "paper kite harbour sunrise")
        expect(juror).to_have_url(f"{live_server.url}/jury/")
        expect(juror.get_by_role("heading", name="My evaluations")).to_be_visible()
        expect(juror.get_by_text("Welcome, Jane Juror.")).to_be_visible()
        expect(juror.get_by_role("heading", name=AWARD_TITLE)).to_be_visible()

        log_out(juror)
        log_in(juror, live_server, "jane@example.org", "paper kite harbour sunrise")
        expect(juror).to_have_url(f"{live_server.url}/jury/")
        expect(juror.get_by_role("heading", name=AWARD_TITLE)).to_be_visible()
    finally:
        context.close()

    # The admin sees her as active now.
    assert page.reload().status == 200
    expect(page.get_by_role("row").filter(has_text="jane@example.org")).to_contain_text("Active")


def test_wrong_password_shows_a_message_and_keeps_the_email(page, live_server, make_user):
    user = make_user(role="juror", email="jo@example.org")
    log_in(page, live_server, user.email, "not the right password at all")
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("jo@example.org")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page).to_have_url(f"{live_server.url}/login")


def test_a_used_invitation_link_says_the_account_is_ready(browser, page, live_server):
    link = invite_first_admin(live_server)
    page.goto(link)
    set_password(page, NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/admin/")

    context = second_device(browser)
    try:
        again = context.new_page()
        response = again.goto(link)
        assert response.status == 400
        expect(again.get_by_role("heading", name="Your account is ready")).to_be_visible()
        expect(again.get_by_text("new invitation")).to_have_count(0)
        expect(again.get_by_label("New password")).to_have_count(0)
        again.get_by_role("main").get_by_role("link", name="Log in").click()
        expect(again).to_have_url(f"{live_server.url}/login")
    finally:
        context.close()


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    valid = {totp.at(time.time() + shift) for shift in (-60, -30, 0, 30, 60)}
    return next(c for c in ("123456", "654321", "111111") if c not in valid)


def test_admin_turns_on_two_factor_and_needs_a_code(page, live_server, make_user):
    admin = make_user(role="admin", email="root@example.org")
    log_in(page, live_server, admin.email, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/account/two-factor")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    page.get_by_text("Cannot scan? Type this key instead").click()
    secret = page.locator("details code.secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("ul.recovery-codes li")
    expect(codes).to_have_count(10)
    assert len(set(codes.all_inner_texts())) == 10

    log_out(page)
    log_in(page, live_server, admin.email, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/login/two-factor")
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()

    page.get_by_label("Code").fill(wrong_code(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")

    # The next time step's code: accepted (one step of drift), and never the one used above.
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
