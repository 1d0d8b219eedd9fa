"""The documented exception tree. Every error a user can cause is a FounderOpsError."""


class FounderOpsError(Exception):
    """Base of every error the product raises on purpose."""


class InvalidInput(FounderOpsError):
    """Input that cannot be accepted; the message says what is wrong."""


class Conflict(InvalidInput):
    """The input contradicts what is stored, e.g. a source's id reused for another request."""


class NotFound(FounderOpsError):
    """The thing asked for does not exist."""


class ApprovalRequired(FounderOpsError):
    """A risky action was stopped until the founder approves it."""


class ModelIntegrityError(FounderOpsError):
    """A shipped model file does not match its pinned checksum."""
