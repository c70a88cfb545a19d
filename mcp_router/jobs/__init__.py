"""Background jobs: long calls that outlive a client's request (README "Long calls")."""
