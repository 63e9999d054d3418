# A development shell for admin2: `nix develop` (flakes enabled), then `uv sync` and
# `./scripts/test` or `just demo`. The first `nix develop` writes flake.lock, pinning nixpkgs.
# Services (PostgreSQL, Redis, Nginx) are on PATH, not started: see docs/operations.md.
{
  description = "admin2 development shell: Python 3.12, uv, just, PostgreSQL, Redis, Nginx, hadolint, pre-commit";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forEachSystem = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      devShells = forEachSystem (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.python312
            pkgs.uv
            pkgs.just
            pkgs.postgresql
            pkgs.redis
            pkgs.nginx
            pkgs.hadolint
            pkgs.pre-commit
            pkgs.git
            pkgs.curl
            pkgs.openssh
          ];
          shellHook = ''
            # uv uses Nix's Python and never downloads one.
            export UV_PYTHON_DOWNLOADS=never
            export UV_PYTHON=${pkgs.python312}/bin/python3.12
          '';
        };
      });

      formatter = forEachSystem (pkgs: pkgs.nixpkgs-fmt);
    };
}
