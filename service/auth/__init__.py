"""Who is calling: API keys checked (and remembered for a few seconds), and the principal
behind a valid key with its role and agency scope."""
