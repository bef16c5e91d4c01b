"""The whole award in a real browser, as issue 15's "done when" asks, with no command line and
no direct database access: an administrator sets up an award, invites three jurors who accept by
mail and score (one declares a conflict), closes scoring, sets a 70/30 vote on the jury's top 5,
prints the cards and opens voting; voters vote on a phone with a card's code (one reloads the
receipt) and online by a mailed link (which then refuses a second use); the administrator
closes voting, finds the combined winner on the leaderboard, publishes and presents; the
public results page and the API name the same winner in the same order.

The scores make the jury's winner lose to the combined ranking: the voters back the jury's
third. Every step is photographed into test-artifacts/journey/ under the project (NN-step.png,
emptied at the start of each run; a failed step adds NN-step-FAILED-<whose page>.png for every
open page and failure.txt), beside axe.txt (axe's findings of any impact on each kind of page,
all of which fail the test), timings.txt (seconds per step), cards.pdf (the cards as printed)
and results.json (the API's answer). The only setup outside the browser is the first
administrator's account.
"""

import json
import re
import shutil
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .fixtures.domain import PASSWORD, ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts" / "journey"
TIMEOUT_MS = 15_000  # generous: CI machines are shared and slow at times
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}

AWARD = "Neighbourhood Prize 2026"
CRITERIA = [("Impact", 60), ("Feasibility", 40)]  # scales 1–10
NOMINEES_CSV = """title,organisation,city,country,summary
Green Streets,Tree Friends,Utrecht,Netherlands,Residents plant and water street trees.
Buddy Line,Call a Neighbour,Tampere,Finland,Volunteers phone isolated older people daily.
Repair Café Network,Fix It Together,Ghent,Belgium,Monthly repair evenings in twelve districts.
Night Bus Pals,Safe Home,Bilbao,Spain,Trained volunteers ride the night buses.
Open Allotments,Grow Local,Kraków,Poland,Unused plots turned into shared gardens.
Street Library,Read Here,Porto,Portugal,Book boxes on every corner of the old town.
"""
# What every juror gives each nominee on both criteria: the jury's ranking is this order.
# A juror's score is the weighted mean rescaled to 0–100: (value - 1) / 9 × 100.
JURY_VALUES = {
    "Green Streets": 9,  # 88.89: the jury's winner
    "Buddy Line": 8,  # 77.78
    "Repair Café Network": 7,  # 66.67: the jury's third
    "Night Bus Pals": 5,  # 44.44 (two jurors: the third declares a conflict)
    "Open Allotments": 4,  # 33.33
    "Street Library": 2,  # 11.11: sixth, off the top-5 ballot
}
JURY_ORDER = list(JURY_VALUES)
SHORTLIST = JURY_ORDER[:5]
JURORS = [
    ("Nora Juror", "nora@example.org"),
    ("Omar Juror", "omar@example.org"),
    ("Pia Juror", "pia@example.org"),
]
CONFLICT = ("pia@example.org", "Night Bus Pals", "I volunteered for Safe Home in 2024.")
# Three printed cards and one verified address vote: the jury's third gets three of four.
CARD_VOTES = ["Repair Café Network", "Repair Café Network", "Green Streets"]
ONLINE_VOTER = ("vera.voter@example.net", "Repair Café Network")
# Vote score = 100 × votes ÷ the most votes; final = 70% × jury + 30% × vote:
# Repair Café 0.7 × 66.67 + 0.3 × 100 = 76.67 beats Green Streets 0.7 × 88.89 + 0.3 × 33.33 =
# 72.22, then Buddy Line 54.4, Night Bus Pals 31.1, Open Allotments 23.3, Street Library 7.8.
COMBINED_ORDER = [
    "Repair Café Network",
    "Green Streets",
    "Buddy Line",
    "Night Bus Pals",
    "Open Allotments",
    "Street Library",
]
WINNER, WINNER_FINAL = COMBINED_ORDER[0], "76.67"
CODE = re.compile(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}\b")
RECEIPT = re.compile(r"\b[0-9A-F]{12}\b")


# --- The record of the run: screenshots and axe -------------------------------------------------


class Record:
    """Numbered screenshots of every step, what axe finds (any impact) on every page, and how
    long each step took (timings.txt: the time of a step includes its screenshots and axe)."""

    def __init__(self, folder: Path):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.count = 0
        self.violations: list[str] = []
        self.pages: list = []  # (whose, page) of every page opened
        self.timings: list[str] = []
        self.axe_seconds = 0.0

    def shot(self, page, name: str, *, axe: bool = True) -> None:
        """Photograph the page (whole length) and run axe on it (once per kind of page: a
        second juror's copy of a page is photographed, not checked again)."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=path, full_page=True, animations="disabled")
        if axe:
            started = time.monotonic()
            found = Axe().run(page).response["violations"]
            self.axe_seconds += time.monotonic() - started
            self.violations += [
                f"{self.count:02d}-{name} {urlsplit(page.url).path}: {v['id']} ({v['impact']}): "
                f"{v['help']} at " + "; ".join(", ".join(n["target"]) for n in v["nodes"])
                for v in found
            ]

    @contextmanager
    def step(self, name: str):
        """A step of the journey: if it fails, every open page is photographed and the error
        names the step."""
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            for who, page in self.pages:
                if page.is_closed():
                    continue
                self.count += 1
                path = self.folder / f"{self.count:02d}-{name}-FAILED-{who}.png"
                with suppress(Exception):  # a crashed page: the error below is what matters
                    page.screenshot(path=path, full_page=True, animations="disabled")
            (self.folder / "failure.txt").write_text(f"The step “{name}” failed:\n{exc}\n")
            exc.add_note(f"The journey failed at the step “{name}”; screenshots in {self.folder}")
            raise
        finally:
            self.timings.append(f"{time.monotonic() - started:5.1f} s  {name}")

    def new_context(self, browser, who: str, viewport: dict, **options):
        """A person's browser; its pages are photographed under their name if a step fails."""
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: self.pages.append((who, page)))
        return context

    def save(self) -> None:
        (self.folder / "axe.txt").write_text("".join(f"{v}\n" for v in self.violations))
        self.timings.append(f"{self.axe_seconds:5.1f} s  of which axe")
        (self.folder / "timings.txt").write_text("\n".join(self.timings) + "\n")


@pytest.fixture
def record():
    return Record(ARTIFACTS)


# --- Helpers ------------------------------------------------------------------------------------


def on_live_server(link: str, live_server) -> str:
    """The same address on the live server (a mail may name the address it was made for)."""
    parts = urlsplit(link)
    return f"{live_server.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def link_in_mail(inbox, address: str, pattern: str, live_server) -> str:
    """The link matching `pattern` in the newest message to `address` that has one, once the
    live server's sender thread has delivered it (it polls the outbox every 0.1 s)."""
    deadline = time.monotonic() + 15
    while True:
        for message in reversed(inbox.messages):
            if message["To"] != address:
                continue
            body = message.get_payload(decode=True).decode()
            if found := re.search(rf"https?://\S*{pattern}\S*", body):
                return on_live_server(found.group(0), live_server)
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} with a link like {pattern}")
        time.sleep(0.05)


def order_in(text: str, titles) -> list[str]:
    """The titles in the order they first appear in `text` (a ranking, read as a person reads)."""
    missing = [t for t in titles if t not in text]
    assert not missing, f"not shown: {missing}"
    return sorted(titles, key=text.index)


def flash(page, text: str):
    return page.get_by_text(text)


def confirm_step(page, question: str, button: str) -> None:
    """Opening and closing scoring or voting pass a confirmation page."""
    expect(page.get_by_role("heading", name=question)).to_be_visible()
    page.get_by_role("button", name=button).click()


def jury_ranking(page):
    """The leaderboard's ranking by the jury alone ("Ranking: …", or "Jury ranking …" beside a
    vote)."""
    return page.get_by_role("region", name=re.compile(r"^(jury )?ranking", re.I)).first


@contextmanager
def phone(browser, who: str, record: Record):
    """A page on a person's own phone (its own cookies), closed at the end."""
    context = record.new_context(browser, who, PHONE, is_mobile=True, has_touch=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def score(page, criterion: str, value: int) -> None:
    page.get_by_role("group", name=re.compile(rf"^{criterion}\b")).get_by_role(
        "radio", name=str(value), exact=True
    ).check()


# --- The journey --------------------------------------------------------------------------------


def test_a_whole_award_from_setup_to_the_published_results(
    app, browser, live_server, smtp_server, make_user, record
):
    url = live_server.url
    admin_user = make_user(role="admin", name="Ada Admin")  # the first administrator: setup
    admin_context = record.new_context(browser, "admin", DESKTOP)
    admin = admin_context.new_page()
    try:
        with record.step("admin-logs-in"):
            admin.goto(f"{url}/login")
            admin.get_by_label("Email").fill(admin_user.email)
            admin.get_by_label("Password").fill(PASSWORD)
            admin.get_by_role("button", name="Log in", exact=True).click()
            expect(admin).to_have_url(f"{url}/admin/")
            record.shot(admin, "admin-home")

        slug = set_up_the_award(admin, url, record)
        invite_the_jury(admin, record)
        open_scoring(admin, url, slug, record)
        for name, address in JURORS:
            juror_accepts_and_scores(browser, live_server, smtp_server, name, address, record)
        close_scoring(admin, url, slug, record)
        set_the_vote(admin, url, slug, record)
        codes, ballot_address = print_the_cards(admin_context, admin, live_server, record)
        open_voting(admin, url, slug, record)

        # Each voter on a phone of their own.
        for n, (code, choice) in enumerate(zip(codes, CARD_VOTES, strict=True), start=1):
            with phone(browser, f"voter-{n}", record) as page:
                vote_with_a_card(page, ballot_address, code, choice, n, record, reload=n == 1)
        with phone(browser, "online-voter", record) as page:
            vote_online(page, live_server, smtp_server, record)

        close_voting(admin, url, slug, record)
        check_the_leaderboard(admin, url, slug, record)
        publish(admin, url, slug, record)
        present(admin, url, slug, record)
        with phone(browser, "visitor", record) as page:
            public_results_agree(page, url, slug, record)
    finally:
        record.save()
        admin_context.close()
    assert not record.violations, "axe found:\n" + "\n".join(record.violations)


def set_up_the_award(admin, url: str, record: Record) -> str:
    with record.step("create-the-award"):
        admin.get_by_role("link", name="New award").click()
        admin.get_by_label("Title", exact=True).fill(AWARD)
        admin.get_by_label("Description").fill(
            "For neighbourhood projects that bring people together."
        )
        admin.get_by_label("Quorum").fill("2")  # the nominee with a conflict has two jurors
        admin.get_by_role("button", name="Create the award").click()
        expect(flash(admin, f"“{AWARD}” is created. Add its criteria next.")).to_be_visible()
        slug = re.search(r"/admin/awards/([^/]+)/criteria$", admin.url).group(1)
        record.shot(admin, "award-created", axe=False)  # checked with its rows below

    with record.step("add-the-criteria"):
        for name, weight in CRITERIA:
            admin.get_by_label("Name", exact=True).fill(name)
            admin.get_by_label("Guidance for jurors").fill(
                f"1: no {name.lower()}; 10: outstanding."
            )
            admin.get_by_label("Weight").fill(str(weight))
            admin.get_by_label("Lowest score").fill("1")
            admin.get_by_label("Highest score").fill("10")
            admin.get_by_role("button", name="Add the criterion").click()
            expect(flash(admin, f"Criterion “{name}” added.")).to_be_visible()
        record.shot(admin, "criteria")

    with record.step("import-the-nominees"):
        admin.goto(f"{url}/admin/awards/{slug}")
        admin.get_by_role("link", name="Nominees", exact=True).click()
        admin.get_by_role("link", name="Import from CSV or JSON").click()
        admin.get_by_label("Or paste the rows").fill(NOMINEES_CSV)
        admin.get_by_role("button", name="Preview").click()
        expect(admin.get_by_text("6 nominees ready to import")).to_be_visible()
        record.shot(admin, "nominees-preview")
        admin.get_by_role("button", name="Import 6 nominees").click()
        expect(admin.get_by_text("6 nominees imported")).to_be_visible()
        record.shot(admin, "nominees-imported")
    return slug


def invite_the_jury(admin, record: Record) -> None:
    with record.step("invite-three-jurors"):
        admin.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
        invite = admin.get_by_role("region", name="Invite someone")
        for name, address in JURORS:
            invite.get_by_label("Name", exact=True).fill(name)
            invite.get_by_label("Email").fill(address)
            invite.get_by_label("Juror").check()
            invite.get_by_label(AWARD).check()
            invite.get_by_role("button", name="Send invitation").click()
            expect(flash(admin, f"Invitation queued for {address}")).to_be_visible()
            expect(admin.get_by_role("row").filter(has_text=address)).to_contain_text("Invited")
        record.shot(admin, "jurors-invited")


def open_scoring(admin, url: str, slug: str, record: Record) -> None:
    with record.step("open-scoring"):
        admin.goto(f"{url}/admin/awards/{slug}")
        admin.get_by_role("button", name="Open scoring").click()
        confirm_step(admin, "Open scoring?", "Yes, open scoring")
        expect(flash(admin, "Scoring is open: jurors can score.")).to_be_visible()
        record.shot(admin, "scoring-open")


def juror_accepts_and_scores(browser, live_server, inbox, name: str, address: str, record):
    first_name = name.split()[0].lower()
    first = address == JURORS[0][1]  # axe checks the first juror's pages
    context = record.new_context(browser, first_name, TABLET)
    try:
        page = context.new_page()
        with record.step(f"{first_name}-accepts-the-invitation"):
            page.goto(link_in_mail(inbox, address, "/invitation/", live_server))
            expect(page.get_by_role("heading", name=f"Welcome, {name}")).to_be_visible()
            record.shot(page, f"{first_name}-invitation", axe=first)
            page.get_by_label("New password").fill("paper kite harbour sunrise")
            page.get_by_label("Repeat the password").fill("paper kite harbour sunrise")
            page.get_by_role("button", name="Set password and continue").click()
            expect(page.get_by_role("heading", name="My evaluations")).to_be_visible()
            award = page.get_by_role("region", name=AWARD)
            expect(award.get_by_role("link")).to_have_count(6)

        if address == CONFLICT[0]:
            with record.step(f"{first_name}-declares-a-conflict"):
                _, nominee, reason = CONFLICT
                award.get_by_role("link").filter(has_text=nominee).click()
                expect(page.get_by_role("heading", level=1)).to_have_text(nominee)
                page.get_by_text("Declare a conflict of interest").click()
                page.get_by_label("Why?").fill(reason)
                record.shot(page, f"{first_name}-conflict", axe=False)
                page.get_by_role("button", name="Declare the conflict").click()
                declared = page.get_by_text(
                    f"Conflict of interest declared: you will not score “{nominee}”."
                )
                # A declaration cannot be undone by the juror: the app may ask to confirm it.
                confirm = page.get_by_role("button", name="Yes, declare the conflict")
                expect(declared.or_(confirm)).to_be_visible()
                if confirm.is_visible():
                    record.shot(page, f"{first_name}-conflict-confirm")
                    confirm.click()
                expect(declared).to_be_visible()
                expect(award.get_by_role("link")).to_have_count(5)

        with record.step(f"{first_name}-scores"):
            to_score = [t for t in JURY_ORDER if not (address == CONFLICT[0] and t == CONFLICT[1])]
            award.get_by_role("link").first.click()
            scored = []
            # Submitting leads to the next nominee to score, and after the last to the list.
            while (title := page.get_by_role("heading", level=1).inner_text()) in to_score:
                for criterion, _ in CRITERIA:
                    score(page, criterion, JURY_VALUES[title])
                if not scored:  # autosaved; later ones are submitted at once (it saves first)
                    expect(page.get_by_role("status").filter(has_text="Saved at")).to_be_visible()
                    record.shot(page, f"{first_name}-evaluation", axe=first)
                page.get_by_role("button", name="Submit evaluation").click()
                expect(
                    page.get_by_text(f"Your evaluation of “{title}” is submitted.")
                ).to_be_visible()
                scored.append(title)
            assert sorted(scored) == sorted(to_score)
            page.get_by_role("navigation", name="Main").get_by_role(
                "link", name="My evaluations"
            ).click()
            expect(award).to_contain_text(f"{len(to_score)} of {len(to_score)} submitted")
            record.shot(page, f"{first_name}-done", axe=first)
    finally:
        context.close()


def close_scoring(admin, url: str, slug: str, record: Record) -> None:
    with record.step("close-scoring"):
        admin.goto(f"{url}/admin/awards/{slug}")
        admin.get_by_role("button", name="Close scoring").click()
        confirm_step(admin, "Close scoring?", "Yes, close scoring")
        expect(flash(admin, "Scoring is closed: no more scores are accepted.")).to_be_visible()
        record.shot(admin, "scoring-closed", axe=False)  # the award page: checked

    with record.step("the-jury-ranking"):
        admin.get_by_role("link", name="Leaderboard").click()
        ranking = jury_ranking(admin)
        expect(ranking).to_contain_text(JURY_ORDER[0])
        assert order_in(ranking.inner_text(), JURY_ORDER) == JURY_ORDER
        record.shot(admin, "leaderboard-jury-only")


def set_the_vote(admin, url: str, slug: str, record: Record) -> None:
    with record.step("set-a-70-30-vote-on-the-top-5"):
        admin.goto(f"{url}/admin/awards/{slug}")
        admin.get_by_role("link", name="Vote", exact=True).click()
        admin.get_by_role("radio", name=re.compile(r"jury's top N")).check()
        admin.get_by_label(re.compile(r"^N\b")).fill("5")
        admin.get_by_label(re.compile(r"^Jury weight")).fill("70")
        admin.get_by_label(re.compile(r"^Vote weight")).fill("30")
        admin.get_by_role("checkbox", name=re.compile("online", re.I)).check()
        admin.get_by_role("button", name="Save the rules").click()
        expect(flash(admin, "The vote's settings are saved.")).to_be_visible()
        record.shot(admin, "vote-rules")


def print_the_cards(admin_context, admin, live_server, record: Record):
    """Three codes as printed cards; returns the codes and the ballot's address on the cards."""
    with record.step("generate-the-codes"):
        admin.get_by_label("How many codes").fill(str(len(CARD_VOTES)))
        admin.get_by_role("button", name="Generate the codes").click()
        record.shot(admin, "codes")
        with admin_context.expect_page() as opened:
            admin.get_by_role("button", name="Print them as cards").click()
        cards_page = opened.value

    with record.step("print-the-cards"):
        expect(cards_page.get_by_role("heading", name="Voting cards")).to_be_visible()
        cards = cards_page.get_by_role("article")
        expect(cards).to_have_count(len(CARD_VOTES))
        texts = cards.all_inner_texts()
        codes = [CODE.search(text).group(0) for text in texts]
        assert len(set(codes)) == len(CARD_VOTES)
        for text in texts:
            assert AWARD in text
        record.shot(cards_page, "cards")
        cards_page.emulate_media(media="print")
        cards_page.pdf(path=record.folder / "cards.pdf", format="A4", print_background=True)
        record.shot(cards_page, "cards-printed", axe=False)

    with record.step("the-cards-say-where-to-vote"):
        # A voter without a camera types the code on the ballot page: its address is printed.
        host = urlsplit(live_server.url).netloc
        addresses = [re.search(rf"(?:https?://)?{re.escape(host)}(/\S*)", t) for t in texts]
        assert all(addresses), f"no ballot address on the cards: {texts[0]!r}"
        ballot_address = live_server.url + addresses[0].group(1)
        cards_page.close()
    return codes, ballot_address


def open_voting(admin, url: str, slug: str, record: Record) -> None:
    with record.step("open-voting"):
        admin.goto(f"{url}/admin/awards/{slug}/voting")
        admin.get_by_role("button", name="Open voting").click()
        confirm_step(admin, "Open voting?", "Yes, open voting")
        expect(flash(admin, "Voting is open: ballots are accepted.")).to_be_visible()
        record.shot(admin, "voting-open")


def vote_with_a_card(page, ballot_address: str, code: str, choice: str, n: int, record, *, reload):
    with record.step(f"card-voter-{n}"):
        page.goto(ballot_address)
        page.get_by_label("Your card's code").fill(code)
        ballot = page.get_by_role("radio")
        expect(ballot).to_have_count(len(SHORTLIST))  # the jury's top 5, not the sixth
        expect(page.get_by_role("radio", name=JURY_ORDER[-1])).to_have_count(0)
        page.get_by_role("radio", name=choice).check()
        if n == 1:
            record.shot(page, "card-ballot")
        page.get_by_role("button", name="Vote", exact=True).click()
        expect(page.get_by_text("You are voting for")).to_be_visible()
        expect(page.get_by_role("main")).to_contain_text(choice)
        if n == 1:
            record.shot(page, "card-confirm")
        page.get_by_role("button", name="Confirm").click()
        thanks = page.get_by_role("heading", name="Thank you: your vote is recorded")
        expect(thanks).to_be_visible()
        receipt = RECEIPT.search(page.get_by_role("main").inner_text()).group(0)
        record.shot(page, f"card-voter-{n}-receipt", axe=n == 1)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    if reload:
        with record.step("the-receipt-survives-a-reload"):
            page.reload()
            expect(thanks).to_be_visible()
            expect(page.get_by_role("main")).to_contain_text(choice)
            expect(page.get_by_role("alert")).to_have_count(0)
            assert RECEIPT.search(page.get_by_role("main").inner_text()).group(0) == receipt
            record.shot(page, "card-receipt-reloaded", axe=False)
            page.get_by_role("link", name="Check my ballot").click()
            expect(page.get_by_role("status")).to_contain_text("Counted.")
            record.shot(page, "card-ballot-counted")


def vote_online(page, live_server, inbox, record: Record) -> None:
    address, choice = ONLINE_VOTER
    with record.step("online-voter-asks-for-a-link"):
        page.goto(live_server.url)
        page.get_by_role("link", name=AWARD).click()
        page.get_by_role("link", name=re.compile(r"vote online", re.I)).click()
        page.get_by_label("Your email address").fill(address)
        record.shot(page, "online-vote-address")
        page.get_by_role("button", name="Send me the link").click()
        expect(page.get_by_text("Check your inbox")).to_be_visible()
        record.shot(page, "online-vote-link-sent")
        link = link_in_mail(inbox, address, "/vote/", live_server)

    with record.step("online-voter-votes"):
        page.goto(link)
        expect(page.get_by_role("radio")).to_have_count(len(SHORTLIST))
        page.get_by_role("radio", name=choice).check()
        record.shot(page, "online-ballot")
        page.get_by_role("button", name=re.compile(r"^(Vote|Cast my vote)$")).click()
        expect(page.get_by_text("You are voting for")).to_be_visible()
        expect(page.get_by_role("main")).to_contain_text(choice)
        record.shot(page, "online-confirm")
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name=re.compile(r"^Thank you"))).to_be_visible()
        assert RECEIPT.search(page.get_by_role("main").inner_text())
        record.shot(page, "online-receipt")

    with record.step("the-used-link-says-so-at-once"):
        page.goto(link)
        expect(page.get_by_text(re.compile(r"already (been used|voted)", re.I))).to_be_visible()
        expect(page.get_by_role("radio")).to_have_count(0)
        record.shot(page, "online-link-used")


def close_voting(admin, url: str, slug: str, record: Record) -> None:
    with record.step("close-voting"):
        admin.goto(f"{url}/admin/awards/{slug}/voting")
        admin.get_by_role("button", name="Close voting").click()
        confirm_step(admin, "Close voting?", "Yes, close voting")
        expect(flash(admin, "Voting is closed: no more ballots are accepted.")).to_be_visible()
        cast = len(CARD_VOTES) + 1
        expect(admin.get_by_role("main")).to_contain_text(re.compile(rf"Counted\s*{cast}\b"))
        record.shot(admin, "voting-closed")


def check_the_leaderboard(admin, url: str, slug: str, record: Record) -> None:
    with record.step("the-leaderboard-shows-the-combined-winner"):
        admin.goto(f"{url}/admin/awards/{slug}")
        admin.get_by_role("link", name="Leaderboard").click()
        combined = admin.get_by_role("region", name=re.compile(r"^(final|combined)", re.I)).first
        expect(combined).to_contain_text(WINNER)
        record.shot(admin, "leaderboard-combined")
        assert order_in(combined.inner_text(), COMBINED_ORDER) == COMBINED_ORDER
        expect(combined).to_contain_text(WINNER_FINAL)
        # Beside it, the jury's own ranking: its winner is not the combined winner.
        assert order_in(jury_ranking(admin).inner_text(), JURY_ORDER) == JURY_ORDER


def publish(admin, url: str, slug: str, record: Record) -> None:
    with record.step("publish-from-the-browser"):
        admin.goto(f"{url}/admin/awards/{slug}")
        admin.get_by_role("link", name="Review and publish").first.click()
        expect(admin.get_by_role("heading", name="Nothing stands in the way")).to_be_visible()
        record.shot(admin, "review")
        admin.get_by_label("I have checked the leaderboard: these results are final").check()
        admin.get_by_role("button", name="Publish the results").click()
        expect(flash(admin, "The results are published.")).to_be_visible()
        expect(admin).to_have_url(f"{url}/awards/{slug}/results")
        record.shot(admin, "published", axe=False)  # checked as the public sees it


def present(admin, url: str, slug: str, record: Record) -> None:
    with record.step("run-the-presenter"):
        admin.set_viewport_size(PROJECTOR)
        present = "Present at the ceremony"
        admin.get_by_role("link", name=present).or_(
            admin.get_by_role("button", name=present)
        ).first.click()
        expect(admin.get_by_role("heading", name=AWARD)).to_be_visible()
        record.shot(admin, "presenter-title")
        drumroll = admin.get_by_text("And the winner is…")
        for _ in range(len(COMBINED_ORDER) + 1):  # last place up to the second, one key each
            if drumroll.is_visible():
                break
            admin.keyboard.press("Space")
        expect(drumroll).to_be_visible()
        admin.keyboard.press("Space")
        # (The page also holds the whole ranking, hidden, for browsers without JavaScript.)
        expect(admin.get_by_text("Winner", exact=True).filter(visible=True)).to_be_visible()
        expect(admin.get_by_role("heading", name=WINNER)).to_be_visible()
        expect(admin.get_by_text(WINNER_FINAL, exact=True).filter(visible=True)).to_be_visible()
        expect(admin.get_by_role("heading", name=COMBINED_ORDER[1])).to_be_hidden()
        record.shot(admin, "presenter-winner")
        admin.set_viewport_size(DESKTOP)


def public_results_agree(page, url: str, slug: str, record: Record) -> None:
    with record.step("the-public-results-and-the-api-agree"):
        page.goto(f"{url}/awards/{slug}")  # a nominee finds the results from the award's page
        page.get_by_role("link", name="See the results").click()
        expect(page).to_have_url(f"{url}/awards/{slug}/results")
        main = page.get_by_role("main")
        expect(main).to_contain_text(WINNER_FINAL)
        assert order_in(main.inner_text(), COMBINED_ORDER) == COMBINED_ORDER
        record.shot(page, "public-results")

        answer = page.request.get(f"{url}/api/v1/awards/{slug}/results")
        assert answer.status == 200
        results = answer.json()
        (record.folder / "results.json").write_text(json.dumps(results, indent=2))
        assert results["provisional"] is False
        assert [n["title"] for n in results["nominees"]] == COMBINED_ORDER
        assert results["nominees"][0]["rank"] == 1
        assert f"{results['nominees'][0]['score']:.2f}" == WINNER_FINAL
        assert results["vote"]["counted"] == len(CARD_VOTES) + 1


# --- A page of the journey on its own -----------------------------------------------------------


def test_the_import_preview_can_be_scrolled_with_the_keyboard(
    browser, live_server, make_user, seeded_award
):
    """The preview's table is wider than a laptop's screen: its scroll box takes the focus, so a
    keyboard can reach every column (axe: scrollable-region-focusable)."""
    admin_user = make_user(role="admin")
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(admin_user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.goto(f"{live_server.url}/admin/awards/{seeded_award.slug}/nominees/import")
        page.get_by_label("Or paste the rows").fill(NOMINEES_CSV)
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_text("6 nominees ready to import")).to_be_visible()
        found = Axe().run(page).response["violations"]
        assert [v["id"] for v in found] == []
        table = page.get_by_role("region", name=re.compile("table", re.I))
        table.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("box => box.scrollLeft > 0", arg=table.element_handle())
    finally:
        context.close()
