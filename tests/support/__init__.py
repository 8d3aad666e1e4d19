"""Reusable test helpers: local provider stubs (`tests.support.stub_server`)."""
