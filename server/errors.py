"""Errors the operator can act on: one line saying what is wrong and how to fix it."""

from __future__ import annotations


class HirestreamError(Exception):
    """Base class; `str(err)` is a complete, single-line message for the operator."""

    retryable: bool = False


class ConfigError(HirestreamError):
    """Configuration is wrong (bad value, unreachable service, missing or altered file).

    Fatal: restarting will not help until the configuration is fixed.
    """


class ServiceUnavailable(HirestreamError):
    """A dependency did not answer in time; retrying later may succeed."""

    retryable = True
