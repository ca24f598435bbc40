"""Counter-based pseudo-random numbers, exactly core/random.hpp's: value i of stream
`seed` is a pure function of (seed, i), so a Python workload's input is the C++ one,
however the work is split."""

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
STREAM_MULTIPLIER = 0xD1B54A32D192ED03
TWO_TO_MINUS_53 = 2.0**-53


def mix64(x):
    """The SplitMix64 finaliser (a bijection of 64-bit values)."""
    x = (x + GOLDEN_GAMMA) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def random_u64(seed, i):
    """The i-th 64-bit value of stream `seed`."""
    return mix64(mix64(seed) ^ ((i * STREAM_MULTIPLIER) & MASK64))


def random_unit(seed, i):
    """The i-th value of stream `seed` as a float in [0, 1) with 53 random bits."""
    return (random_u64(seed, i) >> 11) * TWO_TO_MINUS_53
