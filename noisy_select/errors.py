"""The package's own errors, free of torch so that every layer can raise and catch them."""


class DataError(ValueError):
    """A data folder, split folder, image source or results file that cannot be used as it is."""


class HandoffError(ValueError):
    """A rule that does not survive the platform's hand-off (cloudpickle, a fresh interpreter,
    the organizers' loop); the message says why."""
