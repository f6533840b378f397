#!/bin/sh
# run-cloud.sh: the relay (cashless-cloud, embedded NATS, simulator mode) and
# one simulator terminal (cashlessd) connected to it and bound to the
# simulator merchant, ready for curl. Stops both on Ctrl-C.
#   usage: scripts/run-cloud.sh RUN_DIR CLOUD_LISTEN NATS_LISTEN TERMINAL_LISTEN
set -eu
run=${1:-.run}
cloud=${2:-127.0.0.1:9443}
natsaddr=${3:-127.0.0.1:4222}
lan=${4:-127.0.0.1:8443}
mkdir -p "$run/cloud" "$run/terminal"
bin/cashless-cloud serve --simulator --data-dir "$run/cloud" --listen "$cloud" --nats-listen "$natsaddr" &
relay=$!
trap 'kill $relay 2>/dev/null; wait $relay 2>/dev/null' EXIT INT TERM
ca="$run/cloud/certs/ca.pem"
i=0
while [ ! -s "$ca" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cat <<MSG

relay:    https://$cloud   (CA bundle: $ca)
terminal: term_SIM_0001, bound to fiuuMerch1 through tls://$natsaddr
try:
  tok=\$(curl -s --cacert $ca -d posId=fiuuPos1 -d password=ck_test_simulator https://$cloud/auth/login | sed 's/.*"access":{"token":"\\([^"]*\\)".*/\\1/')
  curl -s --cacert $ca -H "Authorization: Bearer \$tok" https://$cloud/api/terminals
  curl -s --cacert $ca -H "Authorization: Bearer \$tok" -d '{"amount":2500,"currency":"USD","reference":"CLOUD-0001"}' \\
       https://$cloud/cashless/v1/terminals/term_SIM_0001/sale

MSG
bin/cashlessd serve --simulator --listen "$lan" --data-dir "$run/terminal" --cloud "tls://$natsaddr" --cloud-ca "$ca"
