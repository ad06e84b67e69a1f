"""The ways a message reaches a citizen, one module per provider (base.py: the interface)."""
