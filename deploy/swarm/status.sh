#!/usr/bin/env bash
# The swarm at a glance: deploy/swarm/status.sh [STACK]. Nodes, services with their
# replicas and update state, then every running task with its node and health.
set -euo pipefail
docker="${DOCKER:-docker}"
stack="${1:-admin2}"
"$docker" node ls
echo
"$docker" service ls --filter "label=com.docker.stack.namespace=$stack"
echo
for service in $("$docker" service ls -q --filter "label=com.docker.stack.namespace=$stack"); do
  "$docker" service inspect --format \
    '{{.Spec.Name}} update: {{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.Message}}{{else}}none{{end}}' \
    "$service"
done
echo
"$docker" stack ps --filter desired-state=running \
  --format 'table {{.Name}}\t{{.Node}}\t{{.CurrentState}}\t{{.Error}}' "$stack"
