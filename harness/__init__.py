"""Real processes, images and stacks that the tests and the benchmarks both start.

Nothing here knows pytest: fixtures live in tests/, timing loops in bench/. Operators never
run this code; it starts throwaway servers on loopback ports and stand-in images.
"""
