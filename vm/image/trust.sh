# shellcheck shell=bash disable=SC2034  # sets the caller's cache, KERNEL_* and kernel_env_fault
# Sourced by build.sh and build-kernel.sh (never run): the rule by which they trust the places
# they write and read as root, the runtime's (microvm/trusted_path.hpp) in shell. The caller
# defines die(). A cache another user may change is theirs: they could plant kernels/<key>/
# kernel.env (the key is computed from public inputs), the lock file as a symlink, or a stage
# directory, and root would read, truncate or move what they chose.

# Why the existing object at the real path p (named `where` in the message) is not trusted, or
# nothing: owned by root or this user, writable by neither group nor others, not on FUSE (whose
# server reports any owner it likes). With sticky=1, a directory writable by others is allowed
# when its sticky bit keeps them from renaming or removing our entry in it (for $TMPDIR, where
# ours is a mktemp -d directory).
trust_fault() {  # path where [sticky]
  local p="$1" where="$2" sticky="${3:-0}" me uid mode
  me="$(id -u)"
  if ! uid="$(stat -c %u -- "$p")" || ! mode="$(stat -c %a -- "$p")"; then echo "$where: cannot stat"; return; fi
  mode=$((8#$mode))
  if [ "$uid" != 0 ] && [ "$uid" != "$me" ]; then
    echo "$where is owned by uid $uid (only root$([ "$me" = 0 ] || echo " or uid $me") may own it)"
  elif (( mode & 8#022 )) && ! { [ "$sticky" = 1 ] && [ -d "$p" ] && (( mode & 8#1000 )); }; then
    echo "$where is writable by $( (( mode & 2 )) && echo others || echo its group) (mode $(printf %04o "$mode"))"
  elif [ "$(stat -f -c %t -- "$p")" = 65735546 ]; then
    echo "$where lies on a FUSE file system, whose server reports any owner it likes"
  fi
}

# The real path of `given` when it and every directory above it that exists pass trust_fault;
# otherwise dies naming the path and the fault. What does not exist yet is made by the caller
# (below a trusted directory, under umask 022) and judged again.
trusted_real_path() {  # what given [sticky]
  local what="$1" given="$2" sticky="${3:-0}" real dir where fault
  real="$(realpath -m -- "$given")" || die "$what '$given' has no real path"
  dir="$real"
  while :; do
    if [ -e "$dir" ]; then
      if [ "$dir" = "$real" ]; then where="it"; else where="directory $dir"; fi
      fault="$(trust_fault "$dir" "$where" "$sticky")"
      [ -z "$fault" ] || die "refusing $what '$given'$([ "$real" = "$given" ] || echo " (real path $real)"): $fault;" \
        "it must lie where only root or the invoking user can change it, every directory above included"
    fi
    [ "$dir" != / ] || break
    dir="$(dirname -- "$dir")"
  done
  printf '%s\n' "$real"
}

# Sets cache to the real path of the cache directory `given`, made if missing, once it and every
# directory above pass the rule (no sticky exception: not below /tmp either); dies otherwise.
use_trusted_cache() {  # given
  local real
  real="$(trusted_real_path "the cache" "$1")" || exit 1
  if ! mkdir -p -- "$real" 2>/dev/null || [ ! -d "$real" ] || [ ! -w "$real" ]; then
    die "cannot write the cache $1: run as its owner or set MICROVM_IMAGE_CACHE (or --cache)"
  fi
  # Judged again now that it exists: what mkdir made is ours, and nothing on the way moved.
  [ "$(realpath -- "$real")" = "$real" ] || die "refusing the cache '$1': its real path changed while it was made"
  trusted_real_path "the cache" "$real" >/dev/null || exit 1
  cache="$real"
}

# Reads a kernel directory's kernel.env without running it: only KEY=value lines of the known
# keys (a value may be in double quotes), each checked for its form. Returns 1 with the reason
# in kernel_env_fault when it is not a kernel.env of the key given (call it outside $(...): it
# sets the variables).
kernel_env_keys=(KERNEL_KEY KERNEL_RELEASE KERNEL_SOURCE KERNEL_COMPILER KERNEL_BUILD_SECONDS
                 VMLINUX_SIZE BZIMAGE_SIZE CONFIG_SIZE)
read_kernel_env() {  # file key
  local file="$1" key="$2" line name value
  kernel_env_fault=""
  for name in "${kernel_env_keys[@]}"; do printf -v "$name" '%s' ""; done
  if [ ! -f "$file" ] || [ -L "$file" ]; then kernel_env_fault="$file is not a regular file"; return 1; fi
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^([A-Z_]+)=(.*)$ ]] || continue
    name="${BASH_REMATCH[1]}" value="${BASH_REMATCH[2]}"
    [[ " ${kernel_env_keys[*]} " == *" $name "* ]] || continue
    if [[ "$value" =~ ^\"([^\"]*)\"$ ]]; then value="${BASH_REMATCH[1]}"; fi
    printf -v "$name" '%s' "$value"
  done < "$file"
  [ "$KERNEL_KEY" = "$key" ] || { kernel_env_fault="$file: KERNEL_KEY '$KERNEL_KEY' is not the directory's key $key"; return 1; }
  [[ "$KERNEL_RELEASE" =~ ^[A-Za-z0-9._+-]+$ ]] || { kernel_env_fault="$file: KERNEL_RELEASE '$KERNEL_RELEASE' is not a release"; return 1; }
  for name in KERNEL_BUILD_SECONDS VMLINUX_SIZE BZIMAGE_SIZE CONFIG_SIZE; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || { kernel_env_fault="$file: $name '${!name}' is not a number"; return 1; }
  done
  [[ "$KERNEL_SOURCE$KERNEL_COMPILER" =~ ^[[:print:]]*$ ]] || { kernel_env_fault="$file: KERNEL_SOURCE or KERNEL_COMPILER has control characters"; return 1; }
}

# Removes the stage directories of this key (.<key>.tmp.<pid>, and .<key>.tmp.<pid>.old: an
# incomplete image that build.sh moved aside) in dir whose builder is no longer
# running; they would stay for good. Called under the key's lock, before a build: only this key's,
# whose builders all take that lock (another key's builder may run in a pid namespace whose pids
# this /proc does not show).
sweep_stages() {  # dir key
  local d pid
  for d in "$1"/."$2".tmp.*; do
    [[ "${d##*/}" =~ ^\.[0-9a-f]{32}\.tmp\.([0-9]+)(\.old)?$ ]] || continue
    pid="${BASH_REMATCH[1]}"
    [ ! -e "/proc/$pid" ] || continue
    log "removing $d, left by a build that did not finish (pid $pid is gone)"
    rm -rf -- "$d"
  done
}

# Removes the temporary links (.current.<pid>) by which build.sh switches `current`, whose writer
# is no longer running; they would stay for good. Called under the lock every writer of `current`
# takes, so none found is mid-switch whatever its pid namespace; a pid alive here stays all the
# same (a build.sh of before the lock, in this namespace).
sweep_current_links() {  # dir
  local l pid
  for l in "$1"/.current.*; do
    [[ "${l##*/}" =~ ^\.current\.([0-9]+)$ ]] || continue
    [ -L "$l" ] || continue
    pid="${BASH_REMATCH[1]}"
    [ ! -e "/proc/$pid" ] || continue
    log "removing $l, left by a switch of current that did not finish (pid $pid is gone)"
    rm -f -- "$l"
  done
}

# Takes the lock `path` on descriptor `fd`, waiting for its holder. The file is the owner's
# alone: one that others may open, they may flock, and every build as root waited on them for
# good (red team, 2026-12-06). A lock file left 0644 by an older script is made 0600 through the
# open descriptor. fd must be a number: it is part of the text eval runs (the path is not).
take_lock() {  # fd path
  local fd="$1" path="$2" mask
  [[ "$fd" =~ ^[0-9]+$ ]] || die "take_lock: '$fd' is not a file descriptor number"
  mask="$(umask)"
  umask 077
  eval "exec $fd>\"\$path\""
  umask "$mask"
  chmod 0600 "/proc/self/fd/$fd"
  flock "$fd"
}
