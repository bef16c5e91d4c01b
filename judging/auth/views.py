"""Logging in and out, invitations, password resets, two-factor authentication."""

import time

import segno
from flask import (
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from judging.auth import blueprint, devices
from judging.auth.access import (
    confirm_identity,
    end_session,
    fresh_login_required,
    home_for,
    safe_next,
    start_session,
    two_factor_required,
)
from judging.auth.forms import (
    CodeForm,
    EnableTwoFactorForm,
    ForgotPasswordForm,
    LoginForm,
    ReauthenticateForm,
    SetPasswordForm,
)
from judging.auth.throttle import Counter, count_failure, in_words, seconds_to_wait
from judging.extensions import db, limiter
from judging.forms import EmptyForm, render_form
from judging.models import User
from judging.outcome import commit_or_explain
from judging.passwords import app_passwords
from judging.services import two_factor
from judging.services.accounts import (
    AccountError,
    authenticate,
    end_sessions,
    invitation_already_accepted,
    normalise_email,
    redeem_token,
    usable_token,
)
from judging.services.notifications import request_account_link

# A password checked, the second factor still to come: this long to type the code.
PENDING_TWO_FACTOR_SECONDS = 300


def _login_counters(email: str) -> list[Counter]:
    """Which counters a password attempt for `email` from this client is counted on.

    From a device that has logged in to this account before (devices.py): its own counter.
    From any other client: the account's counter for unknown clients, and the address's."""
    if device := devices.trusted_device(email):
        return [Counter("login-device", device)]
    return [
        Counter("login-account", devices.account_key(email)),
        Counter("login-address", get_remote_address(), "LOGIN_LIMIT_PER_IP"),
    ]


def _locked_out(wait: int, *, reason: str, reset_link: bool):
    """The page of a lock-out: the app's layout, the wait in words, the way out."""
    page = render_template(
        "auth/locked_out.html", reason=reason, wait=in_words(wait), reset_link=reset_link
    )
    return page, 429, {"Retry-After": str(wait)}


def _begin_login(user: User, next_url: str | None, message: str | None = None):
    """The password is proven: on to the second factor if the account has one, else in.

    The only way from a password (typed, or set through a link) to a session."""
    if user.has_two_factor:
        session.clear()
        session["pending_user"] = user.get_id()
        session["pending_since"] = time.time()
        session["pending_next"] = next_url
        if message:
            flash(f"{message} Now type the code from your authenticator app.", "success")
        return redirect(url_for("auth.two_factor_login"))
    return _finish_login(user, next_url, message)


def _finish_login(user: User, next_url: str | None, message: str | None = None):
    """Every factor is proven: a fresh session, and this device remembered."""
    start_session(user)
    if message:
        flash(message, "success")
    return devices.remember_device(redirect(safe_next(next_url, home_for(user))), user.email)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Email and password; then the second factor if the account has one."""
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(safe_next(next_url, home_for(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        counters = _login_counters(form.email.data)
        if wait := seconds_to_wait(counters):
            reason = (
                "There were too many wrong passwords from this browser for this account."
                if counters[0].scope == "login-device"
                else "There were too many wrong passwords for this account, or from your "
                "network. Browsers that have logged in to the account before are not affected."
            )
            return _locked_out(wait, reason=reason, reset_link=True)
        user = authenticate(form.email.data, form.password.data, app_passwords())
        if user is None:
            count_failure(counters)
            form.password.errors.append("That email and password do not match an account.")
            return render_form("auth/login.html", form)
        db.session.commit()
        return _begin_login(user, next_url)
    return render_form("auth/login.html", form)


def _pending_user() -> User | None:
    if time.time() - session.get("pending_since", 0) > PENDING_TWO_FACTOR_SECONDS:
        return None
    user_id, _, version = str(session.get("pending_user", "")).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


@blueprint.route("/login/two-factor", methods=["GET", "POST"])
def two_factor_login():
    """The second step of logging in: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    if user is None:
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        # Per account, whatever its session version: a new reset link gives no new guesses.
        counter = [Counter("two-factor", str(user.id))]
        if wait := seconds_to_wait(counter):
            reason = "There were too many wrong two-factor codes for this account."
            return _locked_out(wait, reason=reason, reset_link=False)
        if two_factor.verify_second_factor(user, form.code.data):
            db.session.commit()
            return _finish_login(user, session.get("pending_next"))
        count_failure(counter)
        form.code.errors.append("That code is not right. Codes change every 30 seconds.")
    return render_form("auth/two_factor_login.html", form)


@blueprint.post("/logout")
@login_required
def logout():
    """End this session, and (through the session version) any copy of its cookie."""
    form = EmptyForm()
    if form.validate_on_submit():
        end_sessions(current_user)
        db.session.commit()
        end_session()
        flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


def _set_password_page(token: str, purpose: str, template: str):
    try:
        user = usable_token(token, purpose).user
    except AccountError as exc:
        ready = purpose == "invitation" and invitation_already_accepted(token)
        return render_template(
            "auth/link_problem.html", message=exc.message, purpose=purpose, account_ready=ready
        ), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        with commit_or_explain(explain=False) as attempt:
            user = redeem_token(token, purpose, form.password.data, app_passwords())
        if attempt.error is not None:
            form.password.errors.append(attempt.error.message)
        else:
            # A link proves the mailbox, not the authenticator: the code step still comes.
            return _begin_login(
                user,
                None,
                "Your password is set. Welcome!"
                if purpose == "invitation"
                else "Your password has been changed.",
            )
    return render_form(template, form, user=user)


@blueprint.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Follow the invitation link: choose a password, and you are in."""
    return _set_password_page(token, "invitation", "auth/accept_invitation.html")


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Follow the reset link: choose a new password."""
    return _set_password_page(token, "reset", "auth/reset_password.html")


@blueprint.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the account exists, and
    takes as long: the request does not look the account up, it queues the address in the
    outbox whatever it is, and the sender (after the response) mails the link to an account
    or forgets the address."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_account_link(normalise_email(form.email.data))
        db.session.commit()
        flash(
            "If an account exists for that address, a link to set a new password is on its "
            "way. It works for one hour.",
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_form("auth/forgot_password.html", form)


@blueprint.route("/reauthenticate", methods=["GET", "POST"])
@login_required
def reauthenticate():
    """Confirm the password (and code) before a sensitive action."""
    form = ReauthenticateForm()
    next_url = safe_next(request.args.get("next"), home_for(current_user))
    if form.validate_on_submit():
        refusal = confirm_identity(form.password.data, form.code.data)
        if refusal is None:
            return redirect(next_url)
        form.password.errors.append(refusal.message)
        return render_template("auth/reauthenticate.html", form=form), refusal.status
    return render_form("auth/reauthenticate.html", form)


@blueprint.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    """Turn on two-factor authentication: scan the QR code, confirm one code."""
    if current_user.has_two_factor:
        return render_template(
            "auth/two_factor_status.html",
            form=EmptyForm(),
            unused=two_factor.unused_recovery_codes(current_user),
        )
    return _enrol_two_factor()


@fresh_login_required
def _enrol_two_factor():
    """Enrolment needs a fresh login: a stolen session must not tie the account to the
    thief's authenticator app."""
    secret = session.get("pending_totp_secret") or two_factor.new_secret()
    session["pending_totp_secret"] = secret
    form = EnableTwoFactorForm()
    if form.validate_on_submit():
        with commit_or_explain(explain=False) as attempt:
            codes = two_factor.enable(current_user, secret, form.code.data, actor=current_user)
        if attempt.error is None:
            session.pop("pending_totp_secret", None)
            return render_template("auth/recovery_codes.html", codes=codes)
        form.code.errors.append(attempt.error.message)
    uri = two_factor.provisioning_uri(current_user, secret)
    qr = segno.make(uri, error="m").svg_inline(
        scale=5, omitsize=True, title="QR code for your authenticator app"
    )
    return render_form("auth/two_factor_setup.html", form, qr=qr, secret=secret)


@blueprint.post("/account/two-factor/recovery-codes")
@login_required
@fresh_login_required
def new_recovery_codes():
    """Replace the recovery codes (the old ones stop working)."""
    if not EmptyForm().validate_on_submit() or not current_user.has_two_factor:
        return redirect(url_for("auth.two_factor_setup"))
    codes = two_factor.new_recovery_codes(current_user)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes)


@blueprint.post("/account/two-factor/disable")
@login_required
@fresh_login_required
def disable_two_factor():
    """Turn two-factor authentication off (not allowed while it is required for admins)."""
    if EmptyForm().validate_on_submit() and current_user.has_two_factor:
        if two_factor_required(current_user):
            flash("Two-factor authentication is required for administrators; it stays on.", "error")
        else:
            two_factor.disable(current_user, actor=current_user)
            db.session.commit()
            flash("Two-factor authentication is off.", "success")
    return redirect(url_for("auth.two_factor_setup"))
