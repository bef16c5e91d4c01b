"""Password policy and hashing: long passwords, no composition rules, argon2id."""

import gzip
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (judging/data/README.md says where it is from)."""
    data = files("judging.data").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why this password may not be used, in words for the person choosing it; [] if fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters (this one has {len(password)}).")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append("This password is on a list of common passwords; choose another.")
    elif lowered in {email.lower(), name.lower()} - {""}:
        problems.append("Your password may not be your email address or your name.")
    elif len(set(password)) == 1:
        problems.append("A single repeated character is too easy to guess.")
    return problems


@cache
def hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    """An argon2id hasher with these parameters (argon2-cffi's default type is argon2id)."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


class Passwords:
    """Hashing with the parameters in the app's configuration (ARGON2_* settings)."""

    def __init__(self, config: dict):
        self._hasher = hasher(
            config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
        )
        # Verified against when the email is unknown, so that the answer takes as long.
        self._dummy = self._hasher.hash("an unknown account is checked like a known one")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def app_passwords() -> Passwords:
    """The hasher of the running app, built once from its configuration in create_app."""
    return current_app.extensions["passwords"]
