#!/usr/bin/env bash
# The git work of `linuxkit pkg show-tag <dir>...`, one package at a time, as LinuxKit's pkglib
# does it: per package, the tree hash and two dirtiness checks, each its own git process.
#   git ls-tree --full-tree HEAD -- <dir>                                   -> tree hash
#   git diff --no-ext-diff --exit-code --quiet HEAD -- <dir>                -> tracked changes?
#   git ls-files --exclude-standard --others --error-unmatch -- <dir>       -> untracked files?
# (LinuxKit itself also runs `git rev-parse` and `git update-index -q --refresh` per package, so
# this is a lower bound of its git work.) The package's org and image are read from build.yml
# with bash builtins only, so no other processes are started.
# Prints <org>/<image>:<tree hash>[-dirty] per package, run from the repository's directory.
set -u
status=0
for dir in "$@"; do
  org=linuxkit image=
  if [[ -f $dir/build.yml ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      case $line in
        image:*) image=${line#image:}; image=${image//[[:space:]\"\']/} ;;
        org:*) org=${line#org:}; org=${org//[[:space:]\"\']/} ;;
      esac
    done < "$dir/build.yml"
  fi
  tree=$(git ls-tree --full-tree HEAD -- "$dir") || { status=1; continue; }
  read -r _ _ hash _ <<< "$tree"
  if [[ -z ${hash:-} ]]; then echo "$dir: not committed" >&2; status=1; continue; fi
  dirty=
  git diff --no-ext-diff --exit-code --quiet HEAD -- "$dir" || dirty=-dirty
  if [[ -z $dirty ]] && git ls-files --exclude-standard --others --error-unmatch -- "$dir" >/dev/null 2>&1; then dirty=-dirty; fi
  echo "$org/$image:$hash$dirty"
done
exit $status
