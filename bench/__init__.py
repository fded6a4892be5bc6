"""Measurements (latency, throughput, capacity, memory): scripts that print numbers, write JSON."""
