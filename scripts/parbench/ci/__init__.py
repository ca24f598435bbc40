"""./parbench ci: base and head built in git worktrees (worktrees), their families planned by this
checkout's runner with each side's binary (sides), run in interleaved rounds and pooled into one
results folder per side (rounds), then compared with compare's statistics, reported and gated
(verdict). The method: docs/ci.md."""
from .command import run_ci

__all__ = ["run_ci"]
