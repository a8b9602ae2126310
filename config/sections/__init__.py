"""The sections of ``Settings``, one module per area (``config/settings.py`` assembles them)."""
