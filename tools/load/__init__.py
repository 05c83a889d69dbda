"""Load-test kit (Locust): the full reissue journey through HTTP, election-day shapes, runner."""
