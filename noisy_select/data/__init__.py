"""Data: scenarios (as files), image sources, data folders of the official layout, the proxy."""
