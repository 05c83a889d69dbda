import re

LINK_PATTERN = re.compile(r"/reassort/code-vote#t=([A-Za-z0-9_-]{43})")


def token_in(text: str) -> str:
    match = LINK_PATTERN.search(text)
    assert match, "no link in the message"
    return match.group(1)
