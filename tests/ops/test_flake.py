"""flake.nix: parsed by Nix, and its outputs function evaluated offline against a stand-in
for nixpkgs (fetching the real one needs the network): every system gets a dev shell with
the tools the project needs and a hook that keeps uv on Nix's Python."""

from __future__ import annotations

import json
import subprocess

from harness.processes import REPO, require_binary

FLAKE = REPO / "flake.nix"
SYSTEMS = ["aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"]
TOOLS = ["python312", "uv", "just", "postgresql", "redis", "nginx", "hadolint", "pre-commit"]

# nixpkgs stand-in: each package is its attribute name as a string, mkShell returns its input.
EVALUATE = """
let
  flake = import %(flake)s;
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  packageNames = %(names)s;
  pkgsFor = system: genAttrs packageNames (name: "pkg:" + name) // {
    mkShell = attrs: attrs // { inherit system; };
  };
  nixpkgs = {
    lib = { inherit genAttrs; };
    legacyPackages = genAttrs %(systems)s pkgsFor;
  };
  outputs = flake.outputs { self = outputs; inherit nixpkgs; };
in { inherit (outputs) devShells; inputs = flake.inputs; }
"""


def nix(*args: str) -> subprocess.CompletedProcess:
    binary = require_binary("nix-instantiate", "Debian package nix-bin")
    return subprocess.run(
        [binary, "--option", "build-users-group", "", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def nix_list(items) -> str:
    return "[ " + " ".join(f'"{item}"' for item in items) + " ]"


def test_a_syntax_error_would_be_caught(tmp_path):
    broken = tmp_path / "flake.nix"
    broken.write_text(FLAKE.read_text().replace("in\n", "", 1))
    result = nix("--parse", str(broken))
    assert result.returncode != 0 and "syntax error" in result.stderr


def test_every_system_gets_the_dev_shell_with_the_project_tools(tmp_path):
    names = [*TOOLS, "git", "curl", "openssh", "nixpkgs-fmt"]
    expression = tmp_path / "evaluate.nix"
    expression.write_text(
        EVALUATE % {"flake": FLAKE, "names": nix_list(names), "systems": nix_list(SYSTEMS)}
    )

    result = nix("--eval", "--strict", "--json", str(expression))

    assert result.returncode == 0, result.stderr
    evaluated = json.loads(result.stdout)
    assert evaluated["inputs"]["nixpkgs"]["url"].startswith("github:NixOS/nixpkgs/")
    shells = evaluated["devShells"]
    assert sorted(shells) == SYSTEMS
    for system, shell in shells.items():
        default = shell["default"]
        assert default["system"] == system
        assert {f"pkg:{tool}" for tool in TOOLS} <= set(default["packages"])
        hook = default["shellHook"]
        assert "export UV_PYTHON_DOWNLOADS=never" in hook
        assert "export UV_PYTHON=pkg:python312/bin/python3.12" in hook
