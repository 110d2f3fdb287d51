# Sourced by clonage-agent.sh: backup to and restore from the server image store
# (docs/backup-restore.md). Reached only with a job that passed check_job_values.
#
# Backup: for each partition of `sfdisk -d`, partclone (by blkid type, partclone.dd when unknown)
# | compressor | pieces of chunk_mb MiB cut by dd, each uploaded with its SHA-256; then the
# partition table, the boot area and a line manifest are committed. busybox wget can neither PUT
# nor POST binary data (--post-file stops at the first NUL byte): uploads are HTTP/1.0 requests
# written to busybox nc, so backups need an http:// server URL.
# Restore: pxe/agent/agent-restore.sh, sourced at the end of this file.
# store=partition / smb: the same files go to a mounted directory instead (agent-dirstore.sh);
# put_file / get_file pick the store, the rest of the code does not know which one it is.

# Environment (tests): CLONAGE_TRANSFER_TIMEOUT (one piece, default 600 s), CLONAGE_COMMIT_TIMEOUT
# (server re-hash, default 1800 s), CLONAGE_CHUNK_MB (overrides the job's chunk_mb).
TRANSFER_TIMEOUT=${CLONAGE_TRANSFER_TIMEOUT:-600}
COMMIT_TIMEOUT=${CLONAGE_COMMIT_TIMEOUT:-1800}

valid_file() { case "$1" in ''|.*|*[!A-Za-z0-9._-]*) return 1 ;; esac; [ "${#1}" -le 100 ]; }
valid_sha() { case "$1" in *[!0-9a-f]*) return 1 ;; esac; [ "${#1}" -eq 64 ]; }
sha_of() { set -- $(sha256sum "$1"); echo "$1"; }
fail_with() { FAIL_MSG=$2; log "$FAIL_MSG"; return "$1"; }

# Job keys agent-lib's parse_job leaves aside (the file already passed its charset checks).
read_image_keys() {
  J_IMAGE= J_STORE= J_CHUNK_MB=64 J_STORAGE_PART=auto
  while IFS= read -r _l || [ -n "$_l" ]; do
    _l=${_l%"$(printf '\r')"}
    case "$_l" in
      image=*) J_IMAGE=${_l#image=} ;;
      store=*) J_STORE=${_l#store=} ;;
      storage_part=*) J_STORAGE_PART=${_l#storage_part=} ;;
      chunk_mb=*) J_CHUNK_MB=${_l#chunk_mb=} ;;
    esac
  done < "$WORK/job.txt"
  J_CHUNK_MB=${CLONAGE_CHUNK_MB:-$J_CHUNK_MB}   # tests: small pieces from small disks
  case "$J_IMAGE" in .*|-*|*[!A-Za-z0-9_.-]*) REFUSAL="bad image name"; return 1 ;; esac
  case "$J_STORE" in server|partition) ;; smb) [ -n "${SMB_SUPPORTED:-}" ] || { REFUSAL="image store smb is not supported by this agent"; return 1; } ;;
    *) REFUSAL="image store ${J_STORE:-none} is not supported"; return 1 ;; esac
  case "$J_STORAGE_PART" in auto) ;; *[!a-z0-9]*|'') REFUSAL="bad storage_part"; return 1 ;;
    *) valid_disk_part "$J_STORAGE_PART" "${J_STORAGE_PART##*[!0-9]}" || { REFUSAL="bad storage_part"; return 1; } ;; esac
  is_number "$J_CHUNK_MB" 3 && [ "$J_CHUNK_MB" -ge 1 ] && [ "$J_CHUNK_MB" -le 256 ] || { REFUSAL="bad chunk_mb"; return 1; }
}

# http://host[:port][/path] (already checked by valid_server) -> URL_HOST URL_PORT URL_HOSTPORT URL_PATH
split_server() {
  case "$SERVER" in http://*) ;; *) return 1 ;; esac
  _r=${SERVER#http://}
  URL_HOSTPORT=${_r%%/*} URL_PATH=
  case "$_r" in */*) URL_PATH=/${_r#*/} ;; esac
  URL_PATH=${URL_PATH%/}
  case "$URL_HOSTPORT" in
    *:*) URL_HOST=${URL_HOSTPORT%:*} URL_PORT=${URL_HOSTPORT##*:} ;;
    *) URL_HOST=$URL_HOSTPORT URL_PORT=80 ;;
  esac
  [ -n "$URL_HOST" ] && is_number "$URL_PORT" 5
}

put_file() { if [ -n "$STORE_DIR" ]; then dir_put "$@"; else server_put "$@"; fi; }
put_failure() { # what: why put_file failed, worded for the store
  if [ -n "$STORE_DIR" ]; then echo "writing $1 to the $J_STORE store failed: ${PUT_ERR:-error}"
  else echo "upload of $1 failed, HTTP ${HTTP_STATUS:-none}${PUT_ERR:+: $PUT_ERR}"; fi
}
get_file() { if [ -n "$STORE_DIR" ]; then dir_get "$@"; else server_get "$@"; fi; }

# PUT one file as {server}/api/agent/jobs/{job}/image/{name}; sets PUT_BYTES PUT_SHA, or PUT_ERR.
server_put() { # local-file name
  PUT_BYTES=$(stat -c %s "$1") PUT_SHA=$(sha_of "$1") PUT_ERR= _try=1
  while :; do
    rm -f "$WORK/put.fifo"
    mkfifo "$WORK/put.fifo" || return 1
    # The request side stays open until the server answers and closes: a half-close would be
    # taken for an abort by proxies and relays that do not keep half-open connections.
    { printf 'PUT %s/api/agent/jobs/%s/image/%s HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %s\r\nX-Sha256: %s\r\nConnection: close\r\n\r\n' \
        "$URL_PATH" "$JOB" "$2" "$URL_HOSTPORT" "$TOKEN" "$PUT_BYTES" "$PUT_SHA"
      cat "$1"; exec sleep "$TRANSFER_TIMEOUT"; } > "$WORK/put.fifo" &
    _w=$!
    timeout "$TRANSFER_TIMEOUT" nc "$URL_HOST" "$URL_PORT" < "$WORK/put.fifo" > "$WORK/put.out" 2> "$WORK/put.err"
    kill "$_w" 2> /dev/null
    wait "$_w" 2> /dev/null
    rm -f "$WORK/put.fifo"
    HTTP_STATUS=$(head -n 1 "$WORK/put.out" | sed -n 's/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p')
    [ "$HTTP_STATUS" = 201 ] && return 0
    # An answer is final; a lost connection is tried again (the server drops partial files).
    [ -z "$HTTP_STATUS" ] && [ "$_try" -lt 3 ] || break
    _try=$((_try + 1))
    sleep 2
  done
  PUT_ERR=$(sed -n 's/^error=//p' "$WORK/put.out" | head -n 1 | tr -c 'A-Za-z0-9 ._:/,()-' '_')
  return 1
}

server_get() { # name outfile: GET …/image/{name} with the transfer timeout
  _save=$HTTP_TIMEOUT HTTP_TIMEOUT=$TRANSFER_TIMEOUT
  http GET "/image/$1" "$2"
  _r=$?
  HTTP_TIMEOUT=$_save
  return "$_r"
}

check_file() { # path bytes sha
  [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ] && [ "$(sha_of "$1")" = "$3" ]
}

compress() {
  case "$J_COMPRESSION" in zstd) zstd -T0 -q -c ;; gzip) gzip -1 -c ;; lzop) lzop -1 -c ;; *) cat ;; esac
}
decompress() {
  case "$1" in zstd) zstd -d -q -c ;; gzip) gzip -d -c ;; lzop) lzop -d -c ;; *) cat ;; esac
}
suffix_of() { # mode compression
  _s=pc; [ "$1" = raw ] && _s=dd
  case "$2" in zstd) echo "$_s.zst" ;; gzip) echo "$_s.gz" ;; lzop) echo "$_s.lzo" ;; *) echo "$_s" ;; esac
}
part_name() { case "$1" in *[0-9]) echo "${1}p$2" ;; *) echo "$1$2" ;; esac; }

# kbit/s of the bytes done since STAGE_T0 (uptime_cs), those done before it (arg) left out.
# (Shell variables are global: these helpers use names of their own.)
rate_since() { # bytes-at-stage-start (current bytes in _pb)
  _pdt=$(($(uptime_cs) - STAGE_T0)); [ "$_pdt" -gt 0 ] || _pdt=1
  echo $(( (_pb - $1) * 8 / 10 / _pdt ))
}
# Progress of a partition: partclone's "Completed: NN.NN%" scaled onto the whole disk's work.
post_disk_progress() { # stage done-bytes part-bytes total-bytes
  _pp=$(tr '\r' '\n' < "$WORK/pc.err" 2>/dev/null | sed -n 's/.*Completed: *\([0-9]*\)\..*/\1/p' | tail -n 1)
  is_number "$_pp" 3 || _pp=0
  _pb=$(($2 + $3 / 100 * _pp))
  _ppct=0; [ "$4" -gt 0 ] && _ppct=$((_pb / ($4 / 100 + 1)))
  [ "$_ppct" -le 99 ] || _ppct=99
  post_progress "$1" "$_ppct" "$_pb" "$(rate_since "$2")" < /dev/null
  [ "$HTTP_STATUS" != 410 ] || { echo "cancelled by the server" > "$WORK/up.fail"; return 1; }
}

# stdin: a compressed partition stream, cut into pieces of J_CHUNK_MB MiB and uploaded in order.
upload_pieces() { # number prefix done-bytes part-bytes total-bytes
  _i=0
  while :; do
    dd of="$WORK/piece" bs=1048576 count="$J_CHUNK_MB" iflag=fullblock 2>/dev/null || { echo "read error" > "$WORK/up.fail"; return 1; }
    _b=$(stat -c %s "$WORK/piece")
    [ "$_b" -gt 0 ] || break
    _f=$(printf '%s.%03d' "$2" "$_i")
    put_file "$WORK/piece" "$_f" ||
      { put_failure "$_f" > "$WORK/up.fail"; return 1; }
    echo "chunk $1 $_f $PUT_BYTES $PUT_SHA" >> "$WORK/chunks.part"
    post_disk_progress backup "$3" "$4" "$5" || return 1
    _i=$((_i + 1))
    [ "$_b" -eq $((J_CHUNK_MB * 1048576)) ] || break
  done
  rm -f "$WORK/piece"
}

# A directory store is unmounted whatever happens; a failed backup leaves no staging dir.
run_backup() {
  backup_to_store
  _rc=$?
  [ "$_rc" = 0 ] || [ -z "$STORE_DIR" ] || rm -rf "$STORE_DIR/.incoming-$JOB"
  store_umount
  return "$_rc"
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
  read_image_keys || fail_with 2 "$REFUSAL" || return
  [ "$J_STORE" != server ] || split_server ||
    fail_with 2 "backup to the server needs an http:// server URL: uploads go through busybox nc" || return
  _disk=$DEV_DIR/$J_DISK
  wait_for_disk "$_disk" && [ -b "$_disk" ] || fail_with 4 "disk $J_DISK not found or not a block device" || return
  _dsize=$(disk_size "$_disk")
  sfdisk -d "$_disk" > "$WORK/table.sfdisk" 2> "$WORK/sfdisk.err" || fail_with 6 "no partition table on $J_DISK" || return
  open_store rw "$WORK/table.sfdisk" || fail_with 6 "$REFUSAL: nothing written" || return
  [ -z "$SP_NAME" ] || log "storage partition $SP_NAME mounted: it is not backed up"
  _ss=$(sed -n 's/^sector-size: *\([0-9]*\)$/\1/p' "$WORK/table.sfdisk"); is_number "$_ss" 5 || _ss=512
  # "<path> : start= N, size= N, type=T[, …]" -> "path start size type"
  sed -n 's|^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\), type=\([^,]*\).*|\1 \2 \3 \4|p' "$WORK/table.sfdisk" > "$WORK/parts.raw"
  _first=$(awk 'NR == 1 || $2 < m { m = $2 } END { print m + 0 }' "$WORK/parts.raw")
  _total=$(awk -v ss="$_ss" '{ t += $3 * ss } END { printf "%d", t }' "$WORK/parts.raw")
  # Boot code and, on DOS disks, the gap before the first partition (GRUB): at most 1 MiB.
  _n=$_first; [ $((_n * _ss)) -le 1048576 ] || _n=$((1048576 / _ss))
  : > "$WORK/manifest.body"
  put_file "$WORK/table.sfdisk" table.sfdisk || fail_with 8 "$(put_failure table.sfdisk)" || return
  echo "table table.sfdisk $PUT_BYTES $PUT_SHA" >> "$WORK/manifest.body"
  if [ "$_n" -gt 0 ]; then
    dd if="$_disk" of="$WORK/head.bin" bs="$_ss" count="$_n" 2>/dev/null && put_file "$WORK/head.bin" head.bin ||
      fail_with 8 "boot area not saved: $(put_failure head.bin)" || return
    echo "head head.bin $PUT_BYTES $PUT_SHA" >> "$WORK/manifest.body"
  fi
  _v=$(partclone.dd -v 2>&1 | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n 1); [ -n "$_v" ] && echo "tool partclone $_v" >> "$WORK/manifest.body"
  _v=$(zstd -V 2>&1 | sed -n 's/.* v\([0-9][0-9.]*\).*/\1/p' | head -n 1); [ -n "$_v" ] && echo "tool zstd $_v" >> "$WORK/manifest.body"
  _v=$(sfdisk -v 2>&1 | sed -n 's/.* \([0-9][0-9.]*\)$/\1/p' | head -n 1); [ -n "$_v" ] && echo "tool sfdisk $_v" >> "$WORK/manifest.body"
  log "backup of $J_DISK ($_dsize bytes) as image ${J_IMAGE:-?}: $(wc -l < "$WORK/parts.raw") partitions, $J_COMPRESSION, ${J_CHUNK_MB} MiB pieces"
  _done=0 _chunks=0
  post_progress backup 0 0 0
  while read -r _path _start _size _type <&3; do
    _name=${_path##*/}
    _num=${_name##*[!0-9]}
    _dev=$DEV_DIR/$_name
    _psize=$((_size * _ss))
    valid_disk_part "$_name" "$_num" && [ -b "$_dev" ] || fail_with 8 "partition $_name not found" || return
    _fs=$(blkid -o value -s TYPE "$_dev" 2>/dev/null | head -n 1)
    case "$_fs" in ''|*[!a-z0-9_]*) _fs=unknown ;; esac
    case "$_type" in 5|f|F|85) _fs=extended ;; esac
    [ "$_name" != "$SP_NAME" ] || _fs=clonage_store   # the storage partition itself: never saved
    case "$_fs" in
      extended|swap|clonage_store) _tool=none _mode=none ;;
      ext2|ext3|ext4) _tool=partclone.extfs _mode=partclone ;;
      ntfs) _tool=partclone.ntfs _mode=partclone ;;
      vfat|fat12|fat16|fat32|msdos) _tool=partclone.fat _mode=partclone ;;
      *) _tool=partclone.dd _mode=raw ;;
    esac
    _comp=$J_COMPRESSION; [ "$_mode" = none ] && _comp=none
    log "$_name: $_fs, $_psize bytes -> $_tool"
    rm -f "$WORK/pc.rc" "$WORK/z.rc" "$WORK/up.fail" "$WORK/pc.err"
    : > "$WORK/chunks.part"
    STAGE_T0=$(uptime_cs)
    _used=0
    if [ "$_mode" != none ]; then
      if [ "$_mode" = partclone ]; then set -- "$_tool" -c -s "$_dev" -o - -L "$WORK/partclone.log"
      else set -- partclone.dd -s "$_dev" -o - -L "$WORK/partclone.log"; fi
      { "$@" < /dev/null 2> "$WORK/pc.err"; echo "$?" > "$WORK/pc.rc"; } | { compress; echo "$?" > "$WORK/z.rc"; } |
        upload_pieces "$_num" "$_name.$(suffix_of "$_mode" "$_comp")" "$_done" "$_psize" "$_total"
      [ ! -s "$WORK/up.fail" ] || fail_with 8 "$_name: $(cat "$WORK/up.fail")" || return
      [ "$(cat "$WORK/pc.rc" 2>/dev/null)" = 0 ] || {
        tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
        fail_with 8 "$_name: $_tool failed, exit $(cat "$WORK/pc.rc" 2>/dev/null)"; return; }
      [ "$(cat "$WORK/z.rc" 2>/dev/null)" = 0 ] || fail_with 8 "$_name: compressor failed" || return
      _blocks=$(tr '\r' '\n' < "$WORK/pc.err" | sed -n 's/^Space in use:.*= *\([0-9]*\) Blocks.*/\1/p' | head -n 1)
      _bsize=$(tr '\r' '\n' < "$WORK/pc.err" | sed -n 's/^Block size: *\([0-9]*\) Byte.*/\1/p' | head -n 1)
      is_number "$_blocks" 15 && is_number "$_bsize" 7 && _used=$((_blocks * _bsize))
    fi
    echo "part $_num $_name $_fs $_tool $_mode $_comp $_psize $_used" >> "$WORK/manifest.body"
    cat "$WORK/chunks.part" >> "$WORK/manifest.body"
    _chunks=$((_chunks + $(wc -l < "$WORK/chunks.part")))
    _done=$((_done + _psize))
    log "$_name: $(wc -l < "$WORK/chunks.part") pieces, $_used bytes in use"
  done 3< "$WORK/parts.raw"
  { echo "clonage-image 1"; [ "$J_STORE" = server ] || echo "image $J_IMAGE"
    echo "disk $J_DISK $_dsize $_ss"; echo "chunk_bytes $((J_CHUNK_MB * 1048576))"
    case "$J_STORE" in partition) echo "store partition $SP_NAME" ;; smb) echo "store smb share" ;; esac
    cat "$WORK/manifest.body"; echo "end $_chunks"; } > "$WORK/manifest.txt"
  [ "$J_STORE" = server ] || { commit_to_store; return; }
  _save=$HTTP_TIMEOUT HTTP_TIMEOUT=$COMMIT_TIMEOUT
  http_post /image/commit text/plain "$WORK/manifest.txt" "$WORK/commit.out"
  _r=$? HTTP_TIMEOUT=$_save
  [ "$_r" = 0 ] || fail_with 9 "the server refused the image, HTTP ${HTTP_STATUS:-none}: nothing recorded" || return
  log "stored on the server: $(tr '\n' ' ' < "$WORK/commit.out")"
  post_progress done 100 "$_total" 0
}

# Directory store: the image is complete there first; then the server records it (manifest only)
# and answers which older images retention lets go.
commit_to_store() {
  dir_commit "$WORK/manifest.txt" || fail_with 9 "$REFUSAL: image not stored" || return
  log "image $J_IMAGE written and verified on the $J_STORE store"
  http_post /image/commit text/plain "$WORK/manifest.txt" "$WORK/commit.out" ||
    fail_with 9 "image $J_IMAGE is on the $J_STORE store but the server did not record it, HTTP ${HTTP_STATUS:-none}" || return
  log "recorded by the server: $(tr '\n' ' ' < "$WORK/commit.out")"
  dir_retention "$WORK/commit.out"
  post_progress done 100 "$_total" 0
}

valid_disk_part() { # name number
  case "$1" in ''|*[!a-z0-9]*) return 1 ;; esac
  is_number "$2" 3
}

. "$SCRIPT_DIR/agent-dirstore.sh"
. "$SCRIPT_DIR/agent-smb.sh"
. "$SCRIPT_DIR/agent-restore.sh"
