"""Roll import worker: one batch of CSV rows per invocation (Step Functions Distributed Map)."""
