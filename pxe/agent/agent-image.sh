# Loaded by clonage-agent.sh: image files, shared by backup, restore and deploy
# (docs/backup-restore.md). put_file / get_file pick the store: the server (HTTP) or a mounted
# directory store (agent-dirstore.sh, STORE_DIR set); the rest of the code does not know which.
#
# busybox wget can neither PUT nor POST binary data (--post-file stops at the first NUL byte):
# uploads are HTTP/1.0 requests written to busybox nc, so backups need an http:// server URL.

# http://host[:port][/path] (already checked by valid_server) -> URL_HOST URL_PORT URL_HOSTPORT URL_PATH
split_server() {
  local rest
  case "$SERVER" in http://*) ;; *) return 1 ;; esac
  rest=${SERVER#http://}
  URL_HOSTPORT=${rest%%/*} URL_PATH=
  case "$rest" in */*) URL_PATH=/${rest#*/} ;; esac
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
# A lost connection or a restarting server is tried again (with_retry): the upload resumes at
# this piece, the ones before are in the job's staging folder on the server (which drops partial
# files). An answer such as 507 (store full) or 410 (job over) is final.
server_put() { # local-file name
  PUT_BYTES=$(stat -c %s "$1") PUT_SHA=$(sha_of "$1") PUT_ERR=
  with_retry "upload of $2" put_once "$1" "$2" && return 0
  PUT_ERR=$(sed -n 's/^error=//p' "$WORK/put.out" | head -n 1 | tr -c 'A-Za-z0-9 ._:/,()-' '_')
  return 1
}
put_once() { # local-file name
  local writer
  rm -f "$WORK/put.fifo"
  mkfifo "$WORK/put.fifo" || return 1
  # The request side stays open until the server answers and closes: a half-close would be
  # taken for an abort by proxies and relays that do not keep half-open connections.
  { printf 'PUT %s/api/agent/jobs/%s/image/%s HTTP/1.0\r\nHost: %s\r\nX-Clonage-Session: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %s\r\nX-Sha256: %s\r\nConnection: close\r\n\r\n' \
      "$URL_PATH" "$JOB" "$2" "$URL_HOSTPORT" "$SESSION" "$PUT_BYTES" "$PUT_SHA"
    cat "$1"; exec sleep "$TRANSFER_TIMEOUT"; } > "$WORK/put.fifo" &
  writer=$!
  timeout "$TRANSFER_TIMEOUT" nc "$URL_HOST" "$URL_PORT" < "$WORK/put.fifo" > "$WORK/put.out" 2> "$WORK/put.err"
  kill "$writer" 2> /dev/null
  wait "$writer" 2> /dev/null
  rm -f "$WORK/put.fifo"
  HTTP_STATUS=$(head -n 1 "$WORK/put.out" | sed -n 's/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p')
  [ "$HTTP_STATUS" = 201 ]
}

server_get() { # name outfile: GET …/image/{name} with the transfer timeout
  with_retry "download of $1" http_call "$TRANSFER_TIMEOUT" GET "/image/$1" "$2"
}

compress() {
  case "$J_COMPRESSION" in zstd) zstd -T0 -q -c ;; gzip) gzip -1 -c ;; lzop) lzop -1 -c ;; *) cat ;; esac
}
decompress() { # compression
  case "$1" in zstd) zstd -d -q -c ;; gzip) gzip -d -c ;; lzop) lzop -d -c ;; *) cat ;; esac
}
suffix_of() { # mode compression
  local s=pc
  [ "$1" = raw ] && s=dd
  case "$2" in zstd) echo "$s.zst" ;; gzip) echo "$s.gz" ;; lzop) echo "$s.lzo" ;; *) echo "$s" ;; esac
}
part_name() { case "$1" in *[0-9]) echo "${1}p$2" ;; *) echo "$1$2" ;; esac; }

# kbit/s of the bytes done since a stage started (uptime_cs), those done before it left out.
rate_since() { # stage-start-cs bytes-now bytes-at-stage-start
  local dt=$(($(uptime_cs) - $1))
  [ "$dt" -gt 0 ] || dt=1
  echo $(( ($2 - $3) * 8 / 10 / dt ))
}

# The server's line manifest -> r.files (every file, restore order), r.parts, r.chunks, M_*.
parse_manifest() { # file
  local k a b c d e f g h x w cn=0 end= n=0
  : > "$WORK/r.files"; : > "$WORK/r.parts"; : > "$WORK/r.chunks"
  M_IMAGE= M_DISK_SIZE= M_SS=512 M_HEAD= REFUSAL="malformed manifest"
  while IFS=' ' read -r k a b c d e f g h x; do
    n=$((n + 1))
    if [ "$n" = 1 ]; then [ "$k $a" = "clonage-image 1" ] || return 1; continue; fi
    for w in "$k" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$x"; do valid_value "$w" || return 1; done
    case "$k" in
      image) M_IMAGE=$a ;;
      disk) is_number "$b" 16 && is_number "$c" 5 || return 1; M_DISK_SIZE=$b M_SS=$c ;;
      table|head)
        valid_file "$a" && is_number "$b" 16 && valid_sha "$c" || return 1
        echo "$a $b $c" >> "$WORK/r.files"
        [ "$k" = head ] && M_HEAD=$a ;;
      part)
        valid_disk_part "$b" "$a" && is_number "$g" 16 && is_number "$h" 16 || return 1
        case "$e:$f" in partclone:*|raw:*|none:*) ;; *) return 1 ;; esac
        case "$f" in none|zstd|gzip|lzop) ;; *) return 1 ;; esac
        echo "$a $b $c $e $f $g" >> "$WORK/r.parts" ;;
      chunk)
        is_number "$a" 3 && valid_file "$b" && is_number "$c" 16 && valid_sha "$d" || return 1
        echo "$a $b $c $d" >> "$WORK/r.chunks"
        echo "$b $c $d" >> "$WORK/r.files"
        cn=$((cn + 1)) ;;
      end) end=$a ;;
      tool|chunk_bytes|store) ;;
      *) return 1 ;;
    esac
  done < "$1"
  [ "$end" = "$cn" ] && [ -n "$M_DISK_SIZE" ] && head -n 1 "$WORK/r.files" | grep -q '^table.sfdisk '
}

# The target disk can hold the image (size, sector size): restore and deploy, before any write.
check_target_disk() { # disk-path
  local size ss
  size=$(disk_size "$1")
  [ "$size" -ge "$M_DISK_SIZE" ] ||
    fail_with "$EXIT_REFUSED" "target disk $J_DISK is smaller than the disk of image $M_IMAGE: $size bytes, $M_DISK_SIZE needed: nothing written" || return
  ss=$(blockdev --getss "$1" 2>/dev/null); is_number "$ss" 5 || ss=512
  [ "$ss" = "$M_SS" ] || fail_with "$EXIT_REFUSED" "sector size of $J_DISK is $ss, the image has $M_SS: nothing written"
}

# The image's partition table (without the old device name and last LBA: sfdisk fits a larger
# disk), then its boot area, then the kernel told to read the new table.
write_table() { # disk-path
  grep -v -e '^device:' -e '^last-lba:' "$WORK/r.table.sfdisk" > "$WORK/table.apply"
  sfdisk -q "$1" < "$WORK/table.apply" > "$WORK/sfdisk.out" 2>&1 ||
    fail_with "$EXIT_TRANSFER" "sfdisk could not write the partition table: $(tail -n 1 "$WORK/sfdisk.out")" || return
  write_boot_area "$1"
  reread_partitions "$1"
}

reread_partitions() { # disk-path
  sync
  blockdev --rereadpt "$1" 2>/dev/null
  # Where the kernel ignores BLKRRPART (loop devices on some kernels) and partx exists.
  command -v partx > /dev/null 2>&1 && partx -u "$1" 2>/dev/null
  return 0
}

# After sfdisk wrote the image's table: the boot code (bytes 0-439 of head.bin) and, on DOS disks,
# the MBR's own table bytes (440-509: disk id and the four entries, whose CHS fields sfdisk
# recomputed from the geometry it sees here) and the gap before the first partition (GRUB), so
# the MBR comes back byte for byte. GPT disks keep sfdisk's protective MBR: its size is this disk's.
write_boot_area() { # disk (uses M_HEAD M_SS and $WORK/r.table.sfdisk, r.<head>)
  local sectors
  [ -n "$M_HEAD" ] || return 0
  dd if="$WORK/r.$M_HEAD" of="$1" bs=440 count=1 conv=notrunc 2>/dev/null
  grep -q '^label: dos' "$WORK/r.table.sfdisk" || return 0
  dd if="$WORK/r.$M_HEAD" of="$1" bs=1 skip=440 seek=440 count=70 conv=notrunc 2>/dev/null
  sectors=$(($(stat -c %s "$WORK/r.$M_HEAD") / M_SS))
  [ "$sectors" -gt 1 ] && dd if="$WORK/r.$M_HEAD" of="$1" bs="$M_SS" skip=1 seek=1 count=$((sectors - 1)) conv=notrunc 2>/dev/null
  return 0
}

# The device of partition N of the job's disk, once the kernel shows it -> PART_DEV.
wait_partition() { # number
  PART_DEV=$DEV_DIR/$(part_name "$J_DISK" "$1")
  wait_block_device "$PART_DEV" ||
    fail_with "$EXIT_TRANSFER" "partition $1 of $J_DISK did not appear after writing the table"
}

# stdin: a decompressed partition stream, written onto the partition by the image's tool.
write_stream() { # mode device
  case "$1" in
    partclone) partclone.restore -s - -o "$2" -L "$WORK/partclone.log" ;;
    raw) dd of="$2" bs=1048576 ;;
  esac
}
