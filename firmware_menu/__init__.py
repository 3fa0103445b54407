"""The recorder's local on-screen menu (model apart from its prompt_toolkit view)."""
