"""Audio: codecs and payload formats (pure), devices and files (adapters)."""
