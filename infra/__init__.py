"""CDK app of the vote-code reissue service (see app.py and docs/operations.md)."""
