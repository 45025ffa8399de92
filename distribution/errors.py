"""The distributor's error hierarchy. None carries an HTTP status (``api/errors.py`` maps them)."""

from __future__ import annotations


class DistributionError(Exception):
    """Base class of every error raised by ``distribution``."""


class InvalidChannelConfig(DistributionError):
    """A target's configuration is missing a field or holds a bad value; the message names the field."""


class UnknownChannel(DistributionError):
    """No adapter is registered for that channel type."""


class CaptionTooLong(DistributionError):
    """A caption does not fit its channel's limit, counted in the channel's own unit."""


class TemplateError(DistributionError):
    """A caption template does not parse, or uses something the sandbox forbids."""


class DeliveryError(DistributionError):
    """A channel answered with an error. ``retryable`` errors are tried again with backoff."""

    retryable = False

    def __init__(self, message: str, *, code: str = "rejected") -> None:
        super().__init__(message)
        self.code = code


class ChannelRejected(DeliveryError):
    """The channel refused the request (bad key, bad payload): trying again will not help."""


class ChannelUnavailable(DeliveryError):
    """A 5xx, or a network error before the request left: safe to try again later."""

    retryable = True


class ChannelThrottled(DeliveryError):
    """The channel's rate limit was hit (429 or its own error code); ``retry_after`` seconds, if it said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, code: str = "rate_limited") -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
