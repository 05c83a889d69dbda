"""The audit journal: record hashing, signed digest chain, offline verification, figures.

Pure code (no boto3): storage, the audit table and the signing key are ports; their AWS
implementations are in `reassort.adapters.journal`.
"""
