"""Factories and helpers the test suites share."""
