"""The elector attributes each function's requests name: the one list the adapter and IAM share.

IAM's `dynamodb:Attributes` condition holds every top-level attribute a request names, the key
included; an UpdateItem (alone or in a transaction) naming any other attribute — to write it or
only to test it in a condition — is denied. `infra/access_policies.py` builds the functions'
policies from these sets, the DynamoDB adapter names nothing outside them (checked against the
synthesized policy in every integration and browser test), so a new attribute is added here once.
"""

from __future__ import annotations

ELECTORS_KEY = "elector_id"

# What the roll gives each elector (the roll import's and the local stack's to write).
ROLL_FIELDS = (
    "display_name",
    "pro_email",
    "question",
    "answer_hash",
    "numen_hash",
    "nir_hash",
    "vote_code_hash",
    "identity_digest",
)

# request_reassort and fc_callback: failures and lock, lock alerts sent (daily cap), quota
# entries and their version (which every redemption also moves, so a new link is never bound to
# a stale generation), rehash of the secrets. Never the vote code nor the link generation.
CHALLENGE_FUNCTION = frozenset(
    {
        "failed_attempts",
        "locked_until",
        "recent_links",
        "quota_version",
        "lock_alerts",
        "answer_hash",
        "numen_hash",
        "nir_hash",
        "updated_at",
    }
)

# redeem: the vote code, the generation that revokes every sibling link, and the quota version
# (so that a link issued concurrently is read again against the new generation).
REDEEM_FUNCTION = frozenset(
    {"vote_code_hash", "link_generation", "quota_version", "code_changed_at", "updated_at"}
)
