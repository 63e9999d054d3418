"""containers/Dockerfile read as instructions, grouped by build stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.processes import REPO

DOCKERFILE = REPO / "containers" / "Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        """ENV of this stage (``KEY=VALUE`` pairs; values without spaces or quotes)."""
        values = {}
        for args in self.all("ENV"):
            values.update(re.findall(r"(\w+)=(\S+)", args))
        return values


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            result.append((keyword.upper(), " ".join(args.split())))
    return result


def stages(text: str | None = None) -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, args in instructions(text or DOCKERFILE.read_text()):
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            current = Stage(name.strip(), base.strip())
            found[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, args))
    return found


def run_commands(stage: Stage) -> list[str]:
    """The shell commands of a stage's RUN instructions, without their --mount flags."""
    return [re.sub(r"--mount=\S+\s*", "", args).strip() for args in stage.all("RUN")]
