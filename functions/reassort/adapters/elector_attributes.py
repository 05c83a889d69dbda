"""The elector attributes each function's requests name: the one list the adapter and IAM share.

IAM's `dynamodb:Attributes` condition holds every top-level attribute a request names, the key
included; an UpdateItem (alone or in a transaction) naming any other attribute — to write it or
only to test it in a condition — is denied. `infra/access_policies.py` builds the functions'
policies from these sets, the DynamoDB adapter names nothing outside them (checked against the
synthesized policy in every integration and browser test), so a new attribute is added here once.
"""

from __future__ import annotations

ELECTORS_KEY = "elector_id"

# request_reassort and fc_callback: failures and lock, quota entries and their version, the
# link generation a new link is bound to (condition only), rehash of the secrets.
CHALLENGE_FUNCTION = frozenset(
    {
        "failed_attempts",
        "locked_until",
        "recent_links",
        "quota_version",
        "link_generation",
        "answer_hash",
        "numen_hash",
        "nir_hash",
        "updated_at",
    }
)

# redeem: the vote code and the generation that revokes every sibling link.
REDEEM_FUNCTION = frozenset({"vote_code_hash", "link_generation", "code_changed_at", "updated_at"})
