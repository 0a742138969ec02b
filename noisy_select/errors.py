"""The package's own errors, free of torch so that every layer can raise and catch them."""


class UsageError(ValueError):
    """A value the user gave that cannot be used: an unknown name, an option out of range, a
    scenario or schedule file with a wrong key. The CLI says it in one line (exit 2)."""


class DataError(ValueError):
    """A data folder, split folder, image source or results file that cannot be used as it is."""


class HandoffError(ValueError):
    """A strategy that does not survive the platform's hand-off (cloudpickle, a fresh interpreter,
    the organizers' loop); the message says why."""
