# Loaded by clonage-agent.sh: which disk a job works on when the server names none (`disk=`
# empty: the wizard's field left blank), and what the report says about every disk. Reads sysfs
# (SYS_DIR) and the mount table only; writes nothing.
#
# The chosen disk is the PC's first fixed disk: NVMe, then SATA/AHCI (and SAS/SCSI), then
# virtio, then eMMC; by name within a bus (sda before sdb). Never a removable or USB disk, an SD
# card, a read-only or empty device, nor a disk with a mounted partition (the medium the
# environment runs from when it is not PXE). loop, ram, zram, sr, dm, md and mmcblk*boot* never
# match DISK_NAMES.

# Where a disk sits, from the path of its sysfs node: nvme, sata, scsi, virtio, mmc, usb, ide or
# other. usb is tested first: a USB-SATA bridge shows a SCSI host below the USB port.
disk_bus() { # name
  local p
  p=$(readlink -f "$SYS_DIR/block/$1" 2>/dev/null)
  [ -n "$p" ] || p=$SYS_DIR/block/$1
  case "$p" in
    */usb[0-9]*|*/usb/*) echo usb ;;
    */nvme/*|*/nvme-subsystem/*) echo nvme ;;
    */virtio[0-9]*) echo virtio ;;
    */mmc_host/*|*/mmc[0-9]*) echo mmc ;;
    */ata[0-9]*) echo sata ;;
    */ide[0-9]*) echo ide ;;
    */host[0-9]*) echo scsi ;;
    *) echo other ;;
  esac
}

# One sysfs attribute of a disk, first line, trimmed, display-safe (models come from firmware).
disk_attr() { # name attribute-path
  local v
  v=$(head -n 1 "$SYS_DIR/block/$1/$2" 2>/dev/null | tr -c 'A-Za-z0-9 ._:/,+-' '_' | sed 's/^[ _]*//; s/[ _]*$//')
  echo "$v"
}

disk_model() { # name
  local m
  m=$(disk_attr "$1" device/model)
  [ -n "$m" ] || m=$(disk_attr "$1" device/name)   # eMMC
  echo "${m:-unknown}"
}

disk_sectors() { # name -> 512-byte sectors (0 when unknown)
  local s
  s=$(disk_attr "$1" size)
  is_number "$s" 18 && echo "$s" || echo 0
}

# A partition of this disk (or the disk itself) is mounted: the medium the environment runs from.
disk_mounted() { # name
  local dev rest
  while read -r dev rest; do
    case "${dev#/dev/}" in "$1"|"$1"[0-9]*|"$1"p[0-9]*) return 0 ;; esac
  done < "$MOUNTS_FILE"
  return 1
}

# Why a disk is not a candidate ("" when it is one).
disk_unfit() { # name
  local bus
  bus=$(disk_bus "$1")
  if ! echo "$1" | grep -qE "$DISK_NAMES"; then echo "not a whole disk"
  elif [ "$(disk_attr "$1" removable)" = 1 ]; then echo "removable"
  elif [ "$bus" = usb ]; then echo "on USB"
  elif [ "$bus" = mmc ] && [ "$(disk_attr "$1" device/type)" != MMC ]; then echo "an SD card"
  elif [ "$(disk_sectors "$1")" = 0 ]; then echo "empty (size 0)"
  elif [ "$(disk_attr "$1" ro)" = 1 ]; then echo "read-only"
  elif disk_mounted "$1"; then echo "mounted (boot medium)"
  fi
}

bus_rank() { case "$1" in nvme) echo 1 ;; sata|scsi|ide) echo 2 ;; virtio) echo 3 ;; mmc) echo 4 ;; *) echo 5 ;; esac; }

# The first fixed disk's name, or nothing. Tests that moved DEV_DIR without a sysfs tree keep the
# first plain name there (list_disks).
detect_disk() {
  local d
  if [ "$DEV_DIR" != /dev ] && [ -z "${CLONAGE_SYS_DIR:-}" ]; then first_disk; return; fi
  for d in $(ls "$SYS_DIR/block" 2>/dev/null); do
    [ -z "$(disk_unfit "$d")" ] || continue
    echo "$(bus_rank "$(disk_bus "$d")") ${#d} $d"
  done | sort -k1,1n -k2,2n -k3,3 | head -n 1 | cut -d ' ' -f 3
}

# "nvme, Samsung SSD 980, 500107862016 bytes" (the message and the log say which disk was chosen).
disk_summary() { # name
  echo "$(disk_bus "$1"), $(disk_model "$1"), $(($(disk_sectors "$1") * 512)) bytes"
}

# The job's disk when the server named none: sets J_DISK and DISK_NOTE, or fails (nothing opened).
resolve_disk() {
  local d why
  DISK_NOTE=
  [ -z "$J_DISK" ] || return 0
  case "$J_ROLE" in report|memtest) return 0 ;; esac
  J_DISK=$(detect_disk)
  if ! valid_disk "$J_DISK"; then
    why=
    for d in $(ls "$SYS_DIR/block" 2>/dev/null | grep -E "$DISK_NAMES"); do why="$why $d: $(disk_unfit "$d");"; done
    J_DISK=
    fail_with "$EXIT_NO_DISK" "no fixed disk found to work on (NVMe, SATA, virtio, eMMC; USB and removable disks are never chosen):${why:- no disk at all}"
    return
  fi
  DISK_NOTE="chosen automatically: $(disk_summary "$J_DISK")"
  log "the job names no disk: $J_DISK $DISK_NOTE"
}

# Report lines of one disk, for the reports page (src/images/report-parse.ts).
disk_report_lines() { # name
  [ -d "$SYS_DIR/block/$1" ] || return 0
  echo "bus=$(disk_bus "$1")"
  echo "model=$(disk_model "$1")"
  echo "removable=$(disk_attr "$1" removable)"
}
