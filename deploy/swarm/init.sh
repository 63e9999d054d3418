#!/usr/bin/env bash
# Make a swarm of hosts over SSH: deploy/swarm/init.sh [--registry HOST:PORT] USER@ADDRESS...
# The first host initialises the swarm, the others join as managers (up to 3 or 5 managers
# keep a quorum through one or two losses; docs/scaling.md). Labels: the first host gets
# admin2.db and admin2.redis (the volumes live there), every host admin2.edge. Each host
# needs the Docker Engine and the SSH user in its docker group; the docker CLI reaches it
# as DOCKER_HOST=ssh://USER@ADDRESS. Relabel later with `docker node update --label-add`.
# SWARM_DEFAULT_ADDR_POOL (e.g. 10.78.0.0/16): where overlay subnets come from, when the
# default 10.0.0.0/8 overlaps the hosts' own networks.
set -euo pipefail
docker="${DOCKER:-docker}"
die() { echo "swarm-init: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: init.sh USER@ADDRESS [USER@ADDRESS...]"
on() { local host="$1"; shift; DOCKER_HOST="ssh://$host" "$docker" "$@"; }

first="$1"; shift
address() { echo "${1#*@}"; }
for host in "$first" "$@"; do
  on "$host" version --format '{{.Server.Version}}' >/dev/null \
    || die "$host: no Docker Engine reachable over SSH"
done
if [ "$(on "$first" info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  pool=()
  [ -n "${SWARM_DEFAULT_ADDR_POOL:-}" ] && pool=(--default-addr-pool "$SWARM_DEFAULT_ADDR_POOL")
  on "$first" swarm init --advertise-addr "$(address "$first")" "${pool[@]}"
fi
token="$(on "$first" swarm join-token -q manager)"
for host in "$@"; do
  if [ "$(on "$host" info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    on "$host" swarm join --token "$token" --advertise-addr "$(address "$host")" \
      "$(address "$first"):2377"
  fi
done
for host in "$first" "$@"; do
  node="$(on "$host" info --format '{{.Swarm.NodeID}}')"
  labels=(--label-add admin2.edge=true)
  [ "$host" = "$first" ] && labels+=(--label-add admin2.db=true --label-add admin2.redis=true)
  on "$first" node update "${labels[@]}" "$node" >/dev/null
done
on "$first" node ls
