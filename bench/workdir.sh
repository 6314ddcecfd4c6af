# Sourced by the bench scripts: `fresh_workdir DIR` empties DIR for a new run. A DIR that
# exists is removed only when a bench run made it (it holds the marker `.dora-bench`), so a
# mistyped path cannot wipe someone's folder; an empty one is taken over.
#   . bench/workdir.sh
fresh_workdir() {
  if [ -e "$1" ] && [ ! -e "$1/.dora-bench" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
    echo "$1 exists and was not made by a bench run (no .dora-bench in it): remove it or name another" >&2
    exit 2
  fi
  rm -rf "$1" && mkdir -p "$1" && touch "$1/.dora-bench"
}
