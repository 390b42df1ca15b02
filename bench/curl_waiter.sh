#!/usr/bin/env bash
# A baseline waiter: curl with an X-Auth-Token header and jq, polling each
# job's own status every INTERVAL seconds.
#
# Usage: curl_waiter.sh URL PROJECT_ID TOKEN INTERVAL image|app|desktop JOB_ID...
# Prints `DONE <job id> <status> <unix time>` when it first sees a job in a
# final state; exits 0 when every job ended in SUCCESS, 1 otherwise.
set -u
url=$1 project=$2 token=$3 interval=$4 kind=$5
shift 5
case $kind in
  image) path="v1/$project/image-server-jobs" ;;
  app) path="v2/$project/job" ;;
  desktop) path="v2/$project/workspace-jobs" ;;
  *) echo "unknown kind $kind" >&2; exit 2 ;;
esac
declare -A final=()
failed=0
while :; do
  for job in "$@"; do
    [[ -n ${final[$job]:-} ]] && continue
    status=$(curl -s -H "X-Auth-Token: $token" "$url/$path/$job" | jq -r '.status // empty')
    case $status in
      ""|WAITING|RUNNING|ROLLBACK|ABORTING) ;;
      *)
        final[$job]=$status
        [[ $status == SUCCESS ]] || failed=1
        echo "DONE $job $status $(date +%s.%N)"
        ;;
    esac
  done
  (( ${#final[@]} == $# )) && break
  sleep "$interval"
done
exit $failed
