"""Logging in and out, invitations, password resets, two-factor authentication."""

import time

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from judging.auth.access import (
    end_session,
    fresh_login_required,
    home_for,
    mark_login_fresh,
    safe_next,
    start_session,
    two_factor_required,
)
from judging.auth.forms import (
    CodeForm,
    EmptyForm,
    EnableTwoFactorForm,
    ForgotPasswordForm,
    LoginForm,
    ReauthenticateForm,
    SetPasswordForm,
)
from judging.extensions import db, limiter
from judging.forms import render_form
from judging.mail import MailError
from judging.models import User
from judging.passwords import app_passwords
from judging.services import two_factor
from judging.services.accounts import (
    AccountError,
    authenticate,
    end_sessions,
    normalise_email,
    redeem_token,
    usable_token,
)
from judging.services.notifications import send_invitation, send_password_reset
from judging.services.voting import keyed_hash

blueprint = Blueprint("auth", __name__)

# A password checked, the second factor still to come: this long to type the code.
PENDING_TWO_FACTOR_SECONDS = 300


def _failed() -> bool:
    return g.get("auth_failed", False)


def _login_account_key() -> str:
    # A keyed hash: the limiter's counters (in Redis) never hold an email address.
    return "login-account:" + keyed_hash("login:" + normalise_email(request.form.get("email", "")))


def _pending_user_key() -> str:
    return "two-factor:" + str(session.get("pending_user", "none"))


def _limit(name: str):
    return lambda: current_app.config[name]


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _limit("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=lambda _response: _failed(),
)
@limiter.limit(
    _limit("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=lambda _response: _failed()
)
def login():
    """Email and password; then the second factor if the account has one."""
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(safe_next(next_url, home_for(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data, app_passwords())
        if user is None:
            g.auth_failed = True
            form.password.errors.append("That email and password do not match an account.")
            return render_form("auth/login.html", form)
        db.session.commit()
        if user.has_two_factor:
            session.clear()
            session["pending_user"] = user.get_id()
            session["pending_since"] = time.time()
            session["pending_next"] = next_url
            return redirect(url_for("auth.two_factor_login"))
        start_session(user)
        return redirect(safe_next(next_url, home_for(user)))
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
@limiter.limit(
    "5 per 15 minutes",
    key_func=_pending_user_key,
    methods=["POST"],
    deduct_when=lambda _response: _failed(),
)
def two_factor_login():
    """The second step of logging in: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    if user is None:
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.verify_second_factor(user, form.code.data):
            next_url = session.get("pending_next")
            db.session.commit()
            start_session(user)
            return redirect(safe_next(next_url, home_for(user)))
        g.auth_failed = True
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
        return render_template("auth/link_problem.html", message=str(exc), purpose=purpose), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = redeem_token(token, purpose, form.password.data, app_passwords())
        except AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            start_session(user)
            flash(
                "Your password is set. Welcome!"
                if purpose == "invitation"
                else "Your password has been changed.",
                "success",
            )
            return redirect(home_for(user))
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
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            select(User).where(User.email == normalise_email(form.email.data), User.active)
        )
        if user is not None:
            try:
                if user.password_hash is None:
                    send_invitation(user)
                else:
                    send_password_reset(user)
                db.session.commit()
            except MailError:
                db.session.rollback()
                current_app.logger.warning("password reset mail for user %s failed", user.id)
        flash(
            "If an account exists for that address, a link to set a new password is on its "
            "way. It works for one hour.",
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_form("auth/forgot_password.html", form)


@blueprint.route("/reauthenticate", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per 15 minutes", methods=["POST"], deduct_when=lambda _response: _failed())
def reauthenticate():
    """Confirm the password (and code) before a sensitive action."""
    form = ReauthenticateForm()
    next_url = safe_next(request.args.get("next"), home_for(current_user))
    if form.validate_on_submit():
        ok = app_passwords().verify(current_user.password_hash, form.password.data)
        if ok and current_user.has_two_factor:
            ok = two_factor.verify_second_factor(current_user, form.code.data or "")
        if ok:
            db.session.commit()
            mark_login_fresh()
            return redirect(next_url)
        g.auth_failed = True
        form.password.errors.append("That does not match. Try again.")
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
    secret = session.get("pending_totp_secret") or two_factor.new_secret()
    session["pending_totp_secret"] = secret
    form = EnableTwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(current_user, secret, form.code.data, actor=current_user)
        except ValueError as exc:
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            session.pop("pending_totp_secret", None)
            return render_template("auth/recovery_codes.html", codes=codes)
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


from judging.auth import data_views  # noqa: E402, F401  (registers /account/data)
