"""Pure codecs: G.711 audio (backed by the C extension)."""
