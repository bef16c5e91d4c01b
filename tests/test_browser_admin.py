"""Award administration in a real browser (issue 6, item 8): an administrator sets up a second
award from scratch (criteria, nominees imported from CSV, a jury of two), opens scoring, and
both jurors score it."""

import email
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .fixtures.browser import log_in_on_page
from .fixtures.mail import outbox_message

pytestmark = pytest.mark.browser

AWARD = "Young Innovators Award"
SLUG = "young-innovators-award"
CRITERIA = [("Originality", 40, "40"), ("Feasibility", 35, "35"), ("Reach", 25, "25")]
NOMINEES_CSV = """title,organisation,city,country,summary
Solar Schools,Bright Futures Trust,Leeds,United Kingdom,"Pupils build solar panels, together."
Code Club North,Tech for All,Tromsø,Norway,Teenagers teach coding to younger children.
River Watch,Green Youth,Ghent,Belgium,Young volunteers monitor water quality.
Makers Van,Open Workshop,Porto,Portugal,A mobile workshop visiting rural villages.
"""
NOMINEES = ["Solar Schools", "Code Club North", "River Watch", "Makers Van"]
# Each juror scores a different nominee: (name, email, nominee, scores in criteria order).
JURORS = [
    ("Nora Juror", "nora@example.org", "Solar Schools", [10, 10, 10]),
    ("Omar Juror", "omar@example.org", "River Watch", [4, 7, 1]),
]
# Mean of the criteria rescaled to 0–100, weighted: 10s are 100; (4, 7, 1) is
# 40% × 33.3 + 35% × 66.7 + 25% × 0 = 36.67.
EXPECTED_SCORES = {"Solar Schools": "100.00", "River Watch": "36.67"}
TIMEOUT_MS = 15_000  # a broken page fails in seconds, not after Playwright's 30-second default


@pytest.fixture(autouse=True)
def fail_fast(page):
    page.set_default_timeout(TIMEOUT_MS)


def mail_to(app, address: str) -> email.message.EmailMessage:
    """The newest message in the local outbox addressed to `address`, once the live server's
    sender thread has written it."""
    return outbox_message(app, address)


def invitation_link(app, live_server, address: str) -> str:
    body = mail_to(app, address).get_content()
    assert AWARD in body
    link = re.search(r"https?://\S+/invitation/\S+", body).group(0)
    return f"{live_server.url}{urlsplit(link).path}"


def score(page, criterion: str, value: int) -> None:
    """Tap the number box: the label, whose radio input is visually hidden under it."""
    page.locator(f"#criterion-{criterion.lower()}").locator(".scale-option").filter(
        has_text=re.compile(rf"^\s*{value}\s*$")
    ).click()


def test_admin_sets_up_a_second_award_and_two_jurors_score_it(
    app, browser, page, live_server, make_user
):
    admin = make_user(role="admin", name="Ada Admin")
    log_in_on_page(page, live_server, admin, "/admin/")

    # The award, from scratch: it starts on its criteria page.
    page.get_by_role("link", name="New award").click()
    page.get_by_label("Title", exact=True).fill(AWARD)
    page.get_by_label("Description").fill("For projects led by people under 30.")
    page.get_by_role("button", name="Create the award").click()
    expect(page).to_have_url(f"{live_server.url}/admin/awards/{SLUG}/criteria")
    expect(page.get_by_text(f"“{AWARD}” is created. Add its criteria next.")).to_be_visible()

    for name, weight, _ in CRITERIA:
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Guidance for jurors").fill(f"1: no {name.lower()}; 10: outstanding.")
        page.get_by_label("Weight").fill(str(weight))
        page.get_by_label("Lowest score").fill("1")
        page.get_by_label("Highest score").fill("10")
        page.get_by_role("button", name="Add the criterion").click()
        expect(page.get_by_text(f"Criterion “{name}” added.")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    for row, (name, weight, share) in zip(rows.all(), CRITERIA, strict=True):
        expect(row.locator("td").nth(1)).to_contain_text(name)
        expect(row.locator("td").nth(2)).to_have_text(str(weight))
        expect(row.locator("td").nth(3)).to_have_text(re.compile(rf"^{share}(\.0)?%$"))
        expect(row.locator("td").nth(4)).to_have_text("1–10")

    # Four nominees, pasted as CSV: a preview first, then the import.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=AWARD).click()
    page.get_by_role("link", name="Nominees", exact=True).click()
    page.get_by_role("link", name="Import from CSV or JSON").click()
    page.get_by_label("Or paste the rows").fill(NOMINEES_CSV)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("4 nominees ready to import")).to_be_visible()
    preview = page.locator(".import-table tbody tr")
    expect(preview).to_have_count(4)
    expect(preview.locator(".problems")).to_have_text(["OK"] * 4)
    expect(page.locator(".import-table .has-problems")).to_have_count(0)
    for row, title in zip(preview.all(), NOMINEES, strict=True):
        expect(row).to_contain_text(title)
    page.get_by_role("button", name="Import 4 nominees").click()
    expect(page).to_have_url(f"{live_server.url}/admin/awards/{SLUG}/nominees")
    expect(page.get_by_text("4 nominees imported")).to_be_visible()
    expect(page.locator(".nominee-table tbody tr strong")).to_have_text(NOMINEES)

    # Two jurors, invited onto the new award's jury.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    invite = page.get_by_role("region", name="Invite someone")
    for name, address, _, _ in JURORS:
        invite.get_by_label("Name", exact=True).fill(name)
        invite.get_by_label("Email").fill(address)
        invite.get_by_label("Juror").check()
        invite.get_by_label(AWARD).check()
        invite.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text(f"Invitation queued for {address}")).to_be_visible()
        row = page.get_by_role("row").filter(has_text=address)
        expect(row).to_contain_text("Invited")
        expect(row).to_contain_text(AWARD)

    # Scoring opens after a confirmation page that says what will happen.
    page.goto(f"{live_server.url}/admin/awards/{SLUG}")
    page.get_by_role("button", name="Open scoring").click()
    expect(page.get_by_role("heading", name="Open scoring?")).to_be_visible()
    page.get_by_role("button", name="Yes, open scoring").click()
    expect(page.get_by_text("Scoring is open: jurors can score.")).to_be_visible()
    expect(page.locator(".page-header .badge")).to_have_text("Jury scoring")

    # Each juror, on a device of their own, accepts the invitation and scores one nominee.
    for name, address, nominee, values in JURORS:
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        context.set_default_timeout(TIMEOUT_MS)
        try:
            juror = context.new_page()
            juror.goto(invitation_link(app, live_server, address))
            expect(juror.get_by_role("heading", name=f"Welcome, {name}")).to_be_visible()
            juror.get_by_label("New password").fill("paper kite harbour sunrise")
            juror.get_by_label("Repeat the password").fill("paper kite harbour sunrise")
            juror.get_by_role("button", name="Set password and continue").click()
            expect(juror).to_have_url(f"{live_server.url}/jury/")
            award = juror.get_by_role("region", name=AWARD)
            expect(award.locator(".progress-numbers")).to_have_text("0 of 4 submitted")
            expect(award.locator(".nominee-list li")).to_have_count(4)

            award.get_by_role("link").filter(has_text=nominee).click()
            expect(juror.get_by_role("heading", level=1)).to_have_text(nominee)
            for (criterion, _, _), value in zip(CRITERIA, values, strict=True):
                score(juror, criterion, value)
            expect(juror.locator("#save-status")).to_contain_text("Saved at")
            juror.get_by_role("button", name="Submit evaluation").click()
            submitted = juror.get_by_text(f"Your evaluation of “{nominee}” is submitted.")
            expect(submitted).to_be_visible()

            nav = juror.get_by_role("navigation", name="Main")
            nav.get_by_role("link", name="My evaluations").click()
            expect(award.locator(".progress-numbers")).to_have_text("1 of 4 submitted")
            done = award.locator(".nominee-list li").filter(has_text=nominee)
            expect(done).to_contain_text("Submitted")
        finally:
            context.close()

    # The admin's leaderboard ranks the two scored nominees.
    page.goto(f"{live_server.url}/admin/awards/{SLUG}/leaderboard")
    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
    ranking = page.locator("table.leaderboard tbody tr")
    expect(ranking).to_have_count(4)
    for nominee, expected in EXPECTED_SCORES.items():
        row = ranking.filter(has_text=nominee)
        expect(row.locator(".score")).to_have_text(expected)
        expect(row.locator("td").nth(2 + len(CRITERIA) + 1)).to_have_text("1")  # evaluations
    expect(ranking.first).to_contain_text("Solar Schools")
