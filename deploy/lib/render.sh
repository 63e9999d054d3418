# shellcheck shell=bash
# Fill @NAME@ placeholders of the files under deploy/systemd and deploy/logrotate.

# render FILE NAME=VALUE... : the file with each @NAME@ replaced, on stdout
render() {
  local file="$1" pair name value script=()
  shift
  for pair in "$@"; do
    name="${pair%%=*}"
    value="${pair#*=}"
    [[ "$value" != *$'\n'* ]] || die "render: $name has a newline"
    value="${value//\\/\\\\}"
    value="${value//&/\\&}"
    value="${value//|/\\|}"
    script+=(-e "s|@$name@|$value|g")
  done
  local out left
  out="$(sed "${script[@]}" "$file")"
  left="$(grep -o '@[A-Z_]*@' <<<"$out" | head -n 1 || true)"
  [ -z "$left" ] || die "render: $file still has the placeholder $left"
  printf '%s\n' "$out"
}
