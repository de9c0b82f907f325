"""Adapters: the code that speaks to the outside world on the use cases' behalf, behind `epay.ports`."""
