"""Staff password hashes (argon2id with argon2-cffi's defaults) and the password policy.

Blocking and deliberately slow (tens of milliseconds a hash): call from a worker thread.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; this only bounds the work a request can ask for

_hasher = PasswordHasher()

# A timing stand-in, not a secret: the argon2 hash (with today's parameters, made at import) of
# a fixed string that is public in this source and is never any account's hash, so knowing it
# opens nothing. Sign-in verifies against it when there is no real hash to check (unknown email,
# account without a password), so those answers cost the same argon2 work as a wrong password.
DUMMY_HASH = _hasher.hash("hirestream-dummy-password-never-valid")


def hash_password(pw: str) -> str:
    return _hasher.hash(pw)


def verify_password(hashed: str, pw: str) -> bool:
    """True when `pw` matches `hashed`; False on a mismatch or a malformed hash."""
    try:
        return _hasher.verify(hashed, pw)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """True when `hashed` was made with other parameters than today's (rehash on sign-in)."""
    try:
        return _hasher.check_needs_rehash(hashed)
    except InvalidHashError:
        return True


def check_policy(pw: str) -> None:
    """ValueError("password: ...") unless `pw` is 12 to 256 characters and not one character
    repeated."""
    if len(pw) < MIN_LENGTH:
        raise ValueError(f"password: at least {MIN_LENGTH} characters")
    if len(pw) > MAX_LENGTH:
        raise ValueError(f"password: at most {MAX_LENGTH} characters")
    if len(set(pw)) == 1:
        raise ValueError("password: not one character repeated")
