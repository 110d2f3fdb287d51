# Loaded by clonage-agent.sh: the PC→PCs clone as one framed stream over one udpcast session
# (docs/boot-environment.md "Clone stream"). The sender reads its disk and never writes it.
#
# Stream (before compression; lines are ASCII, payloads follow their line):
#   clonage-clone 1
#   disk <bytes> <sector-size>
#   table <n>  + n bytes of `sfdisk -d` (0: no partition table, the disk goes as one raw part)
#   head <n>   + n bytes: the sectors before the first partition (boot code, BIOS gap; ≤ 1 MiB)
#   part <num> <name> <fs> <mode> <bytes>     mode: partclone | raw | none | whole
#   data <n>   + n bytes of that part's stream (partclone image, or raw bytes), repeated
#   end <num> <sha256> <stream-bytes>         the emitter's digest of that part's stream
#   abort <num>                               the emitter could not read that part: stop
#   done <parts>
# Each receiver hashes each part's stream as it writes it and compares with the `end` line: a
# mismatch fails that receiver alone (EXIT_DAMAGED), after it drained the stream so that the
# sender and the others go on. One session rather than one per partition: no start-up wait per
# partition, and a receiver that fails stays in the session instead of making the next one wait.

CLONE_CHUNK=8388608   # bytes per data frame: few forks per GiB, small in the PC's RAM

# ---- emitter

# The tool of a partition by its filesystem (blkid TYPE) and table type -> "fs tool mode".
clone_tool_of() { # fs table-type
  case "$2" in 5|f|F|85) echo "extended none none"; return ;; esac
  case "$1" in
    swap) echo "swap none none" ;;
    ext2|ext3|ext4) echo "$1 partclone.extfs partclone" ;;
    ntfs) echo "ntfs partclone.ntfs partclone" ;;
    vfat|fat12|fat16|fat32|msdos) echo "$1 partclone.fat partclone" ;;
    *) echo "unknown partclone.dd raw" ;;   # MSR, unknown types: every byte
  esac
}

# A filesystem that may be copied now, or the reason in French for the page (ASCII: the result
# form keeps no accents), saying what to do. partclone copies a hibernated NTFS (Windows fast
# startup, or hibernation: the clones would resume another PC's memory) and an ext whose journal
# still has to be replayed without a word: both are refused here, before anything is written.
# NTFS: ntfs-3g.probe (14 hibernated, 15 unclean: fast startup, 13 inconsistent). ext: the
# superblock's state (1 valid, 2 errors) and its needs_recovery flag (incompat 0x4).
fs_unreadable() { # name fs
  local dev=$DEV_DIR/$1 magic state incompat rc
  case "$2" in
    ntfs)
      command -v ntfs-3g.probe > /dev/null 2>&1 || { log "$1: no ntfs-3g.probe here, hibernation not checked"; return 0; }
      ntfs-3g.probe --readwrite "$dev" > "$WORK/probe.err" 2>&1
      rc=$?
      case "$rc" in
        0) return 0 ;;
        13|14|15) sed -n '1,3p' "$WORK/probe.err" >> "$LOG"
          echo "$1 (NTFS) : Windows est en veille prolongee ou a ete arrete avec le demarrage rapide (ou le volume est a verifier, ntfs-3g.probe $rc). Redemarrer Windows (Demarrer, Redemarrer : pas Arreter) ou desactiver le demarrage rapide, ou lancer chkdsk, puis relancer : rien n a ete ecrit"
          return 1 ;;
        *) log "$1: ntfs-3g.probe exit $rc, left to partclone"; return 0 ;;
      esac ;;
    ext2|ext3|ext4)
      magic=$(od -An -tu2 -j1080 -N2 "$dev" 2> /dev/null | tr -d ' ')
      state=$(od -An -tu2 -j1082 -N2 "$dev" 2> /dev/null | tr -d ' ')
      incompat=$(od -An -tu4 -j1120 -N4 "$dev" 2> /dev/null | tr -d ' ')
      [ "$magic" = 61267 ] && is_number "$state" 5 && is_number "$incompat" 10 || return 0   # not read: partclone says
      [ $((state & 1)) = 1 ] && [ $((state & 2)) = 0 ] && [ $((incompat & 4)) = 0 ] && return 0
      log "$1: ext state $state, incompat flags $incompat (needs_recovery is 4)"
      echo "$1 ($2) : systeme de fichiers non demonte proprement ou marque en erreur (journal a rejouer). Demarrer ce Linux et l arreter proprement, ou lancer e2fsck, puis relancer : rien n a ete ecrit"
      return 1 ;;
  esac
  return 0
}

# Every partition of a `path start size type` list readable (fs_unreadable), before anything is
# written or stored; FAIL_MSG says which one and what to do.
check_partitions_readable() { # entries-file
  local path start size type fs why
  while read -r path start size type <&3; do
    path=${path##*/}
    fs=$(blkid -o value -s TYPE "$DEV_DIR/$path" 2> /dev/null | head -n 1)
    case "$fs" in ''|*[!a-z0-9_]*) fs=unknown ;; esac
    case "$type" in 5|f|F|85) continue ;; esac
    why=$(fs_unreadable "$path" "$fs") || { fail_with "$EXIT_REFUSED" "$why"; return; }
  done 3< "$1"
}

# Before udp-sender starts: the table, the boot area and one line per partition -> $WORK/c.plan.
# A disk without a partition table is one raw part (mode whole).
clone_plan() {
  local disk=$DEV_DIR/$J_DISK path start size type fs n
  C_SIZE=$(disk_size "$disk") C_SS=512
  : > "$WORK/c.plan"; : > "$WORK/c.table"; : > "$WORK/c.head"
  if ! sfdisk -d "$disk" > "$WORK/c.table" 2> /dev/null || ! grep -q '^label:' "$WORK/c.table"; then
    : > "$WORK/c.table"
    echo "0 $J_DISK unknown whole $C_SIZE" > "$WORK/c.plan"
    log "$J_DISK: no partition table, sent whole ($C_SIZE bytes)"
    return 0
  fi
  C_SS=$(sed -n 's/^sector-size: *\([0-9]*\)$/\1/p' "$WORK/c.table"); is_number "$C_SS" 5 || C_SS=512
  sed -n 's|^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\), type=\([^,]*\).*|\1 \2 \3 \4|p' "$WORK/c.table" > "$WORK/c.entries"
  n=$(awk 'NR == 1 || $2 < m { m = $2 } END { print m + 0 }' "$WORK/c.entries")
  [ $((n * C_SS)) -le 1048576 ] || n=$((1048576 / C_SS))
  [ "$n" -gt 0 ] && dd if="$disk" of="$WORK/c.head" bs="$C_SS" count="$n" 2> /dev/null
  check_partitions_readable "$WORK/c.entries" || return
  while read -r path start size type; do
    path=${path##*/}
    valid_disk_part "$path" "${path##*[!0-9]}" || fail_with "$EXIT_REFUSED" "bad partition name $path in the table of $J_DISK" || return
    wait_block_device "$DEV_DIR/$path" || fail_with "$EXIT_NO_DISK" "partition $path not found" || return
    fs=$(blkid -o value -s TYPE "$DEV_DIR/$path" 2> /dev/null | head -n 1)
    case "$fs" in ''|*[!a-z0-9_]*) fs=unknown ;; esac
    set -- $(clone_tool_of "$fs" "$type")
    echo "${path##*[!0-9]} $path $1 $3 $((size * C_SS))" >> "$WORK/c.plan"
  done < "$WORK/c.entries"
  log "$J_DISK: $(wc -l < "$WORK/c.plan") partitions: $(awk '{ printf "%s %s %s; ", $2, $3, $4 }' "$WORK/c.plan")"
}

# stdout: the whole stream. Progress counters in $WORK/c.bytes (stream bytes so far).
emit_clone_stream() {
  local num name fs mode bytes parts=0 sum=0
  echo "clonage-clone 1"
  echo "disk $C_SIZE $C_SS"
  echo "table $(stat -c %s "$WORK/c.table")"; cat "$WORK/c.table"
  echo "head $(stat -c %s "$WORK/c.head")"; cat "$WORK/c.head"
  while read -r num name fs mode bytes <&3; do
    echo "part $num $name $fs $mode $bytes"
    parts=$((parts + 1))
    [ "$mode" != none ] || continue
    emit_part "$num" "$name" "$fs" "$mode" "$sum" || { echo "abort $num"; return 1; }
    sum=$(cat "$WORK/c.bytes")
  done 3< "$WORK/c.plan"
  echo "done $parts"
}

# One part: its reader | tee (SHA-256) | frames. Fails (and says why in the log) if the reader did.
emit_part() { # num name fs mode bytes-before
  local num=$1 name=$2 dev=$DEV_DIR/$2 before=$5 shapid rc got
  [ "$4" != whole ] || dev=$DEV_DIR/$J_DISK
  rm -f "$WORK/c.fifo" "$WORK/c.sha" "$WORK/c.rc"
  mkfifo "$WORK/c.fifo" || return 1
  sha256sum < "$WORK/c.fifo" > "$WORK/c.sha" &
  shapid=$!
  case "$4" in
    partclone) set -- $(clone_tool_of "$3" x); set -- "$2" -c -s "$dev" -o - -L "$WORK/partclone.log" ;;
    *) set -- dd if="$dev" bs=1048576 ;;
  esac
  { "$@" < /dev/null 2> "$WORK/pc.err"; echo "$?" > "$WORK/c.rc"; } | tee "$WORK/c.fifo" | frame_chunks "$before"
  wait "$shapid"
  rc=$(cat "$WORK/c.rc" 2> /dev/null)
  if [ "$rc" != 0 ]; then
    tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
    log "$name: $1 failed, exit ${rc:-?}"
    return 1
  fi
  got=$(cut -d ' ' -f 1 "$WORK/c.sha")
  log "$name: sent $(($(cat "$WORK/c.bytes") - before)) stream bytes ($1), SHA-256 $got"
  echo "end $num $got $(($(cat "$WORK/c.bytes") - before))"
}

# stdin: one part's stream -> `data` frames on stdout; $WORK/c.bytes counts what went out.
frame_chunks() { # bytes-before
  local n sum=$1
  echo "$sum" > "$WORK/c.bytes"
  while :; do
    dd of="$WORK/c.chunk" bs="$CLONE_CHUNK" count=1 iflag=fullblock 2> /dev/null || return 1
    n=$(stat -c %s "$WORK/c.chunk")
    [ "$n" -gt 0 ] || break
    echo "data $n"
    cat "$WORK/c.chunk"
    sum=$((sum + n))
    echo "$sum" > "$WORK/c.bytes"
    [ "$n" -eq "$CLONE_CHUNK" ] || break
  done
  rm -f "$WORK/c.chunk"
}

# ---- receiver. stdin: the decompressed stream. Writes the disk; leaves in $WORK: c.touched once
# the table is written, c.bytes (stream bytes so far), c.fail (why it failed) and c.code.
consume_clone_stream() {
  local k a b c d e parts=0 bad= sum=0 disk=$DEV_DIR/$J_DISK writing=
  rm -f "$WORK/c.fail" "$WORK/c.code" "$WORK/c.touched" "$WORK/w.pids"
  : > "$WORK/c.sums"
  echo 0 > "$WORK/c.bytes"
  : > "$WORK/r.table"; : > "$WORK/r.head"
  read -r k a || { clone_fail "$EXIT_TRANSFER" "no clone stream came from the sender"; return 1; }
  [ "$k $a" = "clonage-clone 1" ] || { clone_fail "$EXIT_TRANSFER" "this is not a clone stream of this agent version"; drain; return 1; }
  while read -r k a b c d e; do
    case "$k" in
      disk) is_number "$a" 18 && is_number "$b" 5 || break
        check_clone_target "$disk" "$a" "$b" || { drain; return 1; } ;;
      table|head) is_number "$a" 7 || break
        : > "$WORK/r.$k"
        [ "$a" = 0 ] || dd of="$WORK/r.$k" bs="$a" count=1 iflag=fullblock 2> /dev/null || break
        [ "$k" = head ] && [ -s "$WORK/r.table" ] && { write_clone_table "$disk" || { drain; return 1; }; } ;;
      part) valid_disk_part "$b" "$a" && is_number "$e" 18 || break
        parts=$((parts + 1))
        [ -z "$writing" ] || break
        case "$d" in
          none) [ "$c" = swap ] && [ -z "$bad" ] && clone_partition_dev "$a" && mkswap "$PART_DEV" > /dev/null 2>&1 ;;
          partclone|raw|whole) writing=$a
            open_part_writer "$a" "$d" || { bad="$bad $b" writing=null; exec 5> /dev/null; } ;;
          *) break ;;
        esac ;;
      data) is_number "$a" 9 && [ -n "$writing" ] || break
        dd bs="$a" count=1 iflag=fullblock 2> /dev/null >&5 || break
        sum=$((sum + a)); echo "$sum" > "$WORK/c.bytes" ;;
      end) valid_sha "$b" && { [ "$a" = "$writing" ] || [ "$writing" = null ]; } || break
        exec 5>&-
        [ "$writing" = null ] || echo "$a $b" >> "$WORK/c.sums"
        writing= ;;
      abort) clone_fail "$EXIT_TRANSFER" "the sender could not read its partition $a: the disk is partly written"; drain; return 1 ;;
      done) [ "$a" = "$parts" ] || break
        check_part_writers > "$WORK/c.bad"   # not in $(…): a subshell cannot wait for the writers
        bad="$bad$(tr '\n' ' ' < "$WORK/c.bad" | sed 's/^/ /; s/ *$//')"
        [ -n "$bad" ] || return 0
        clone_fail "$EXIT_DAMAGED" "partitions$bad were written from a damaged stream (SHA-256 or writer error, see the log): clone this PC again"
        return 1 ;;
      *) break ;;
    esac
  done
  [ -z "$writing" ] || exec 5>&-
  clone_fail "$EXIT_TRANSFER" "the clone stream stopped or was malformed at a line \"$k\" (sender stopped or stream damaged): the disk is partly written"
  drain
  return 1
}

# Before anything is written: the sender's disk must fit (sizes in the French page's message too).
check_clone_target() { # disk-path sender-bytes sender-sector-size
  local size ss
  size=$(disk_size "$1")
  [ "$size" -ge "$2" ] || { clone_fail "$EXIT_REFUSED" "this disk $J_DISK is smaller than the sender's: $size bytes, $2 needed: nothing written"; return 1; }
  ss=$(blockdev --getss "$1" 2> /dev/null); is_number "$ss" 5 || ss=512
  [ "$ss" = "$3" ] || { clone_fail "$EXIT_REFUSED" "sector size of $J_DISK is $ss, the sender's is $3: nothing written"; return 1; }
  M_SS=$3
}

clone_fail() { echo "$1" > "$WORK/c.code"; echo "$2" > "$WORK/c.fail"; }
drain() { cat > /dev/null; }

# The sender's table (sfdisk writes the GPT backup header at this disk's own end) and boot area.
write_clone_table() { # disk
  M_HEAD=; [ -s "$WORK/r.head" ] && M_HEAD=head
  cp "$WORK/r.table" "$WORK/r.table.sfdisk"
  : > "$WORK/c.touched"
  write_table "$1" || { clone_fail "$EXIT_TRANSFER" "$FAIL_MSG"; return 1; }
}

clone_partition_dev() { # num  (0: the whole disk) -> PART_DEV
  if [ "$1" = 0 ]; then PART_DEV=$DEV_DIR/$J_DISK; : > "$WORK/c.touched"; return 0; fi
  wait_partition "$1"
}

# fd 5 -> tee (SHA-256) -> writer, in the background, files suffixed with the part number. The
# stream goes on to the next part while this one's writer finishes (partclone syncs at its end):
# a reader that paused there would be dropped by udp-sender. check_part_writer waits at `done`.
open_part_writer() { # num mode
  local mode=$2 n=$1
  clone_partition_dev "$n" || return 1
  [ "$mode" != whole ] || mode=raw
  rm -f "$WORK/w.$n.fifo" "$WORK/s.$n.fifo" "$WORK/s.$n.sha" "$WORK/pc.$n.rc"
  mkfifo "$WORK/w.$n.fifo" "$WORK/s.$n.fifo" || return 1
  sha256sum < "$WORK/s.$n.fifo" > "$WORK/s.$n.sha" &
  echo "$!" >> "$WORK/w.pids"
  { tee "$WORK/s.$n.fifo" < "$WORK/w.$n.fifo" | write_stream "$mode" "$PART_DEV" > "$WORK/pc.$n.err" 2>&1; echo "$?" > "$WORK/pc.$n.rc"; } &
  echo "$!" >> "$WORK/w.pids"
  exec 5> "$WORK/w.$n.fifo"
  echo "${PART_DEV##*/}" > "$WORK/w.$n.dev"
  log "${PART_DEV##*/}: receiving ($2)"
}

# Every writer finished; each part's digest against the sender's (c.sums: "num sha" lines).
# Prints the names of the parts that failed.
check_part_writers() {
  local pid n want got rc dev
  for pid in $(cat "$WORK/w.pids" 2> /dev/null); do wait "$pid"; done
  while read -r n want <&4; do
    got=$(cut -d ' ' -f 1 "$WORK/s.$n.sha" 2> /dev/null) rc=$(cat "$WORK/pc.$n.rc" 2> /dev/null) dev=$(cat "$WORK/w.$n.dev")
    if [ "$rc" != 0 ]; then
      tr '\r' '\n' < "$WORK/pc.$n.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
      log "$dev: writing failed, exit ${rc:-?}"
      echo "$dev"
    elif [ "$got" != "$want" ]; then
      log "$dev: stream SHA-256 $got differs from the sender's $want"
      echo "$dev"
    else
      log "$dev: stream SHA-256 $got matches the sender's"
    fi
  done 4< "$WORK/c.sums"
}
