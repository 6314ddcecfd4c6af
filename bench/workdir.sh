# Sourced by the bench scripts: `fresh_workdir DIR` readies DIR for a new run. A DIR a bench
# run made (it holds the marker `.dora-bench`) is removed and made again; an empty one is
# kept and marked; any other is refused, so a mistyped path cannot wipe someone's folder.
#   . bench/workdir.sh
fresh_workdir() {
  if [ -e "$1/.dora-bench" ]; then
    rm -rf "$1"
  elif [ -e "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
    echo "$1 exists and was not made by a bench run (no .dora-bench in it): remove it or name another" >&2
    exit 2
  fi
  mkdir -p "$1" && touch "$1/.dora-bench"
}
