# Progress lines for the toolchain scripts' long steps (sourced; not run).
# A first run builds for 20+ minutes, so each build says which step of how
# many it is, the time since the script started, and what comes next; while
# a step runs, a line every minute says it is still going. Everything goes
# to stderr: the scripts' stdout is what `eval "$(…)"` reads.
#
#   progress_prefix=toolchain       # the [prefix] of every line
#   step 2 4 "the pulumi CLI" "the Node.js language host"
#   timed "pulumi CLI build" go build …

progress_started=$(date +%s)

progress_log() { printf '[%s] %s\n' "${progress_prefix:-toolchain}" "$*" >&2; }

progress_elapsed() { # minutes and seconds since the script started
  local s=$(($(date +%s) - progress_started))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

step() { # step <n> <of> <what> [<next>]
  progress_log "step $1 of $2: $3 ($(progress_elapsed) elapsed${4:+; next: $4})"
}

timed() { # timed <label> <command...>: runs the command, a line a minute while it runs, then how long it took
  local label="$1" start ticker status=0
  shift
  start=$(date +%s)
  # The ticker keeps neither stdout nor the build lock (fd 9) open, and
  # takes its sleep with it when stopped.
  (
    trap 'kill "$pause" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 60 &
      pause=$!
      wait "$pause"
      progress_log "$label: still running, $(( ($(date +%s) - start) / 60 )) min so far ($(progress_elapsed) in all)"
    done
  ) >&2 9>&- &
  ticker=$!
  "$@" || status=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  [ "$status" -eq 0 ] || return "$status"
  progress_log "$label took $(($(date +%s) - start))s"
}
