# Loaded by clonage-agent.sh: backup to the server image store or a directory store
# (docs/backup-restore.md). Reached only with a job that passed check_job_values.
#
# For each partition of `sfdisk -d`: partclone (by blkid type, partclone.dd when unknown)
# | compressor | pieces of chunk_mb MiB cut by dd, each stored with its SHA-256 (put_file,
# agent-image.sh); then the partition table, the boot area and a line manifest are committed.
# store=partition / smb: the same files go to a mounted directory (agent-dirstore.sh).

# A directory store is unmounted whatever happens; a failed backup leaves no staging dir there.
run_backup() {
  local rc
  backup_to_store
  rc=$?
  [ "$rc" = 0 ] || [ -z "$STORE_DIR" ] || rm -rf "$STORE_DIR/.incoming-$JOB"
  store_umount
  return "$rc"
}

# Mounts the job's directory store (partition or smb); nothing for the server store.
open_store() { # rw|ro dump-file
  case "$J_STORE" in
    partition) find_storage_part "$2" && store_mount "$1" ;;
    smb) smb_mount "$1" ;;
    *) return 0 ;;
  esac
}

backup_to_store() {
  local disk=$DEV_DIR/$J_DISK dsize ss total sofar=0 path start size type
  [ "$J_STORE" != server ] || split_server ||
    fail_with "$EXIT_BAD_JOB" "backup to the server needs an http:// server URL: uploads go through busybox nc" || return
  wait_block_device "$disk" || fail_with "$EXIT_NO_DISK" "disk $J_DISK not found or not a block device" || return
  dsize=$(disk_size "$disk")
  sfdisk -d "$disk" > "$WORK/table.sfdisk" 2> "$WORK/sfdisk.err" || fail_with "$EXIT_REFUSED" "no partition table on $J_DISK" || return
  # A hibernated NTFS or a dirty ext: refused before anything is stored (agent-clone.sh).
  sed -n 's|^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\), type=\([^,]*\).*|\1 \2 \3 \4|p' "$WORK/table.sfdisk" > "$WORK/parts.check"
  check_partitions_readable "$WORK/parts.check" || return
  open_store rw "$WORK/table.sfdisk" || fail_with "$EXIT_REFUSED" "$REFUSAL: nothing written" || return
  [ -z "$SP_NAME" ] || log "storage partition $SP_NAME mounted: it is not backed up"
  ss=$(sed -n 's/^sector-size: *\([0-9]*\)$/\1/p' "$WORK/table.sfdisk"); is_number "$ss" 5 || ss=512
  # "<path> : start= N, size= N, type=T[, …]" -> "path start size type"
  sed -n 's|^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\), type=\([^,]*\).*|\1 \2 \3 \4|p' "$WORK/table.sfdisk" > "$WORK/parts.raw"
  total=$(awk -v ss="$ss" '{ t += $3 * ss } END { printf "%d", t }' "$WORK/parts.raw")
  : > "$WORK/manifest.body"
  put_file "$WORK/table.sfdisk" table.sfdisk || fail_with "$EXIT_TRANSFER" "$(put_failure table.sfdisk)" || return
  echo "table table.sfdisk $PUT_BYTES $PUT_SHA" >> "$WORK/manifest.body"
  save_boot_area "$disk" "$ss" || return
  tool_versions >> "$WORK/manifest.body"
  log "backup of $J_DISK ($dsize bytes) as image ${J_IMAGE:-?}: $(wc -l < "$WORK/parts.raw") partitions, $J_COMPRESSION, ${J_CHUNK_MB} MiB pieces"
  post_progress backup 0 0 0
  while read -r path start size type <&3; do
    backup_partition "${path##*/}" $((size * ss)) "$type" "$sofar" "$total" || return
    sofar=$((sofar + size * ss))
  done 3< "$WORK/parts.raw"
  { echo "clonage-image 1"; [ "$J_STORE" = server ] || echo "image $J_IMAGE"
    echo "disk $J_DISK $dsize $ss"; echo "chunk_bytes $((J_CHUNK_MB * 1048576))"
    case "$J_STORE" in partition) echo "store partition $SP_NAME" ;; smb) echo "store smb share" ;; esac
    cat "$WORK/manifest.body"; echo "end $(grep -c '^chunk ' "$WORK/manifest.body")"; } > "$WORK/manifest.txt"
  if [ "$J_STORE" = server ]; then commit_to_server "$total"; else commit_to_store "$total"; fi
}

# Boot code and, on DOS disks, the gap before the first partition (GRUB): at most 1 MiB.
save_boot_area() { # disk-path sector-size
  local n
  n=$(awk 'NR == 1 || $2 < m { m = $2 } END { print m + 0 }' "$WORK/parts.raw")
  [ $((n * $2)) -le 1048576 ] || n=$((1048576 / $2))
  [ "$n" -gt 0 ] || return 0
  dd if="$1" of="$WORK/head.bin" bs="$2" count="$n" 2>/dev/null && put_file "$WORK/head.bin" head.bin ||
    fail_with "$EXIT_TRANSFER" "boot area not saved: $(put_failure head.bin)" || return
  echo "head head.bin $PUT_BYTES $PUT_SHA" >> "$WORK/manifest.body"
}

tool_versions() { # "tool NAME VERSION" lines for the manifest
  local v
  v=$(partclone.dd -v 2>&1 | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n 1); [ -z "$v" ] || echo "tool partclone $v"
  v=$(zstd -V 2>&1 | sed -n 's/.* v\([0-9][0-9.]*\).*/\1/p' | head -n 1); [ -z "$v" ] || echo "tool zstd $v"
  v=$(sfdisk -v 2>&1 | sed -n 's/.* \([0-9][0-9.]*\)$/\1/p' | head -n 1); [ -z "$v" ] || echo "tool sfdisk $v"
}

# One partition: its tool by filesystem, its pieces stored, its lines added to manifest.body.
backup_partition() { # name bytes type done-bytes total-bytes
  local name=$1 psize=$2 type=$3 sofar=$4 total=$5 num dev fs tool mode comp used=0 blocks bsize t0
  num=${name##*[!0-9]} dev=$DEV_DIR/$name
  valid_disk_part "$name" "$num" && [ -b "$dev" ] || fail_with "$EXIT_NO_DISK" "partition $name not found" || return
  fs=$(blkid -o value -s TYPE "$dev" 2>/dev/null | head -n 1)
  case "$fs" in ''|*[!a-z0-9_]*) fs=unknown ;; esac
  case "$type" in 5|f|F|85) fs=extended ;; esac
  [ "$name" != "$SP_NAME" ] || fs=clonage_store   # the storage partition itself: never saved
  case "$fs" in
    extended|swap|clonage_store) tool=none mode=none ;;
    ext2|ext3|ext4) tool=partclone.extfs mode=partclone ;;
    ntfs) tool=partclone.ntfs mode=partclone ;;
    vfat|fat12|fat16|fat32|msdos) tool=partclone.fat mode=partclone ;;
    *) tool=partclone.dd mode=raw ;;
  esac
  comp=$J_COMPRESSION; [ "$mode" = none ] && comp=none
  log "$name: $fs, $psize bytes -> $tool"
  rm -f "$WORK/pc.rc" "$WORK/z.rc" "$WORK/up.fail" "$WORK/up.code" "$WORK/pc.err"
  : > "$WORK/chunks.part"
  t0=$(uptime_cs)
  if [ "$mode" != none ]; then
    if [ "$mode" = partclone ]; then set -- "$tool" -c -s "$dev" -o - -L "$WORK/partclone.log"
    else set -- partclone.dd -s "$dev" -o - -L "$WORK/partclone.log"; fi
    { "$@" < /dev/null 2> "$WORK/pc.err"; echo "$?" > "$WORK/pc.rc"; } | { compress; echo "$?" > "$WORK/z.rc"; } |
      upload_pieces "$num" "$name.$(suffix_of "$mode" "$comp")" "$sofar" "$psize" "$total" "$t0"
    [ ! -s "$WORK/up.fail" ] || fail_with "$(cat "$WORK/up.code")" "$name: $(cat "$WORK/up.fail")" || return
    [ "$(cat "$WORK/pc.rc" 2>/dev/null)" = 0 ] || {
      tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
      fail_with "$EXIT_TRANSFER" "$name: $tool failed, exit $(cat "$WORK/pc.rc" 2>/dev/null)"; return; }
    [ "$(cat "$WORK/z.rc" 2>/dev/null)" = 0 ] || fail_with "$EXIT_TRANSFER" "$name: compressor failed" || return
    blocks=$(tr '\r' '\n' < "$WORK/pc.err" | sed -n 's/^Space in use:.*= *\([0-9]*\) Blocks.*/\1/p' | head -n 1)
    bsize=$(tr '\r' '\n' < "$WORK/pc.err" | sed -n 's/^Block size: *\([0-9]*\) Byte.*/\1/p' | head -n 1)
    is_number "$blocks" 15 && is_number "$bsize" 7 && used=$((blocks * bsize))
  fi
  echo "part $num $name $fs $tool $mode $comp $psize $used" >> "$WORK/manifest.body"
  cat "$WORK/chunks.part" >> "$WORK/manifest.body"
  log "$name: $(wc -l < "$WORK/chunks.part") pieces, $used bytes in use"
}

# Progress of a partition: partclone's "Completed: NN.NN%" scaled onto the whole disk's work.
post_disk_progress() { # stage done-bytes part-bytes total-bytes stage-start-cs
  local pp pb pct
  pp=$(tr '\r' '\n' < "$WORK/pc.err" 2>/dev/null | sed -n 's/.*Completed: *\([0-9]*\)\..*/\1/p' | tail -n 1)
  is_number "$pp" 3 || pp=0
  pb=$(($2 + $3 / 100 * pp))
  pct=0; [ "$4" -gt 0 ] && pct=$((pb / ($4 / 100 + 1)))
  [ "$pct" -le 99 ] || pct=99
  post_progress "$1" "$pct" "$pb" "$(rate_since "$5" "$pb" "$2")" < /dev/null
  [ "$HTTP_STATUS" != 410 ] || { up_fail "$EXIT_CANCELLED" "cancelled by the server"; return 1; }
}

# A pipeline stage cannot return a code to the shell: it leaves its reason and code in files.
up_fail() { echo "$1" > "$WORK/up.code"; echo "$2" > "$WORK/up.fail"; }

# stdin: a compressed partition stream, cut into pieces of J_CHUNK_MB MiB and stored in order.
upload_pieces() { # number prefix done-bytes part-bytes total-bytes stage-start-cs
  local i=0 bytes file
  while :; do
    dd of="$WORK/piece" bs=1048576 count="$J_CHUNK_MB" iflag=fullblock 2>/dev/null || { up_fail "$EXIT_TRANSFER" "read error"; return 1; }
    bytes=$(stat -c %s "$WORK/piece")
    [ "$bytes" -gt 0 ] || break
    file=$(printf '%s.%03d' "$2" "$i")
    put_file "$WORK/piece" "$file" || { up_fail "$EXIT_TRANSFER" "$(put_failure "$file")"; return 1; }
    echo "chunk $1 $file $PUT_BYTES $PUT_SHA" >> "$WORK/chunks.part"
    post_disk_progress backup "$3" "$4" "$5" "$6" || return 1
    i=$((i + 1))
    [ "$bytes" -eq $((J_CHUNK_MB * 1048576)) ] || break
  done
  rm -f "$WORK/piece"
}

# The server re-hashes every piece (COMMIT_TIMEOUT) before it records the image; the `commit`
# stage tells it that this agent now waits for it (a long silence limit, docs/actions.md).
commit_to_server() { # total-bytes
  post_progress commit 99 "$1" 0
  with_retry "commit" http_call "$COMMIT_TIMEOUT" POST /image/commit "$WORK/commit.out" text/plain "$WORK/manifest.txt" ||
    fail_with "$EXIT_NOT_RECORDED" "the server refused the image, HTTP ${HTTP_STATUS:-none}: nothing recorded" || return
  log "stored on the server: $(tr '\n' ' ' < "$WORK/commit.out")"
  post_progress done 100 "$1" 0
}

# Directory store: the image is complete there first; then the server records it (manifest only)
# and answers which older images retention lets go.
commit_to_store() { # total-bytes
  dir_commit "$WORK/manifest.txt" || fail_with "$EXIT_NOT_RECORDED" "$REFUSAL: image not stored" || return
  log "image $J_IMAGE written and verified on the $J_STORE store"
  with_retry "commit" http_post /image/commit text/plain "$WORK/manifest.txt" "$WORK/commit.out" ||
    fail_with "$EXIT_NOT_RECORDED" "image $J_IMAGE is on the $J_STORE store but the server did not record it, HTTP ${HTTP_STATUS:-none}" || return
  log "recorded by the server: $(tr '\n' ' ' < "$WORK/commit.out")"
  dir_retention "$WORK/commit.out"
  post_progress done 100 "$1" 0
}
