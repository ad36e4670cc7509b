"""Reliability tests: the client's behaviour under network and HTTP faults."""
