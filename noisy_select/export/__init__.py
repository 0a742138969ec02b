"""The submission: one self-contained notebook, and the check of its hand-off (``handoff``)."""
