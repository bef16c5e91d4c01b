"""Forms of the auth blueprint: field names are part of the contract (email, password)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from judging.passwords import MAX_LENGTH, password_problems


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH * 4)])


def _password_policy(_form, field) -> None:
    """Every problem at once, so nobody has to retype twice (the service checks again)."""
    if problems := password_problems(field.data or ""):
        raise ValidationError(" ".join(problems))


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), _password_policy],
        description="At least 12 characters. A few words you will remember work well.",
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=32)],
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )


class ReauthenticateForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    code = StringField("Two-factor code", validators=[Length(max=32)])


class EnableTwoFactorForm(FlaskForm):
    code = StringField(
        "Code from the app",
        validators=[DataRequired(), Length(max=16)],
        description="Scan the QR code with an authenticator app, then type the 6 digits it shows.",
    )
