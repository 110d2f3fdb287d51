# Loaded by clonage-agent.sh: store=smb, the SMB share configured on the module's
# Configuration page (docs/backup-restore.md). Once mounted, the share is a directory store like
# the storage partition (agent-dirstore.sh): images under <subdir>/<mac aa-bb-…>/<image>/.
#
# The share's account is never on the kernel command line nor in the job: the agent asks for it
# with its job token (GET …/image/smb-credentials, answered only to a running smb job), keeps the
# answer in a 0600 file of its tmpfs work dir for the time of the mount, then deletes it (and so
# does the exit trap, agent_cleanup, if the agent dies in between). The
# kernel's CIFS client (cifs.ko, pxe/initramfs/modules.list) is driven by busybox mount, which
# resolves the server name and hands the options to the kernel: no mount.cifs in the initramfs.
# Values are checked with `case` patterns (the server validated them too) and passed as one
# argument each; none may hold "," (the mount option separator) or a line break.

# Crypto the CIFS client asks for at mount time (signing, SMB3 encryption): loaded up front
# because the kernel's own module requests need /sbin/modprobe and aliases that may be missing.
SMB_MODULES="cifs cmac ccm gcm ctr ghash_generic md5 hmac sha512_generic ecb aes_generic aesni_intel"

smb_value_ok() { # value max-length [allow-slash]
  case "$1" in *[!A-Za-z0-9_.@\$/-]*) return 1 ;; esac
  case "$1" in */*) [ "$3" = slash ] || return 1 ;; esac
  case "$1" in */../*|../*|*/..|..) return 1 ;; esac
  [ "${#1}" -le "$2" ]
}

smb_mount() { # rw|ro
  local mask got line server= share= subdir= dir= user= domain= pass= opts m left
  STORE_MNT=$WORK/store
  mkdir -p "$STORE_MNT"
  mask=$(umask); umask 077
  with_retry "SMB settings" http GET /image/smb-credentials "$WORK/smb.cred"
  got=$?; umask "$mask"
  [ "$got" = 0 ] || { rm -f "$WORK/smb.cred"; REFUSAL="no SMB share for this job (HTTP ${HTTP_STATUS:-none})"; return 1; }
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      server=*) server=${line#server=} ;;
      share=*) share=${line#share=} ;;
      subdir=*) subdir=${line#subdir=} ;;
      dir=*) dir=${line#dir=} ;;
      username=*) user=${line#username=} ;;
      domain=*) domain=${line#domain=} ;;
      password=*) pass=${line#password=} ;;
    esac
  done < "$WORK/smb.cred"
  rm -f "$WORK/smb.cred"
  smb_value_ok "$server" 253 && [ -n "$server" ] && smb_value_ok "$share" 80 && [ -n "$share" ] &&
    smb_value_ok "$subdir" 200 slash && smb_value_ok "$user" 64 && smb_value_ok "$domain" 64 &&
    case "$dir" in [0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]) true ;; *) false ;; esac ||
    { REFUSAL="the SMB settings from the server are malformed"; return 1; }
  case "$pass" in *,*) REFUSAL="the SMB password holds a comma"; return 1 ;; esac
  for m in $SMB_MODULES; do modprobe "$m" 2>/dev/null; done
  if [ -n "$user" ]; then opts="username=$user,password=$pass"; else opts=guest; fi
  [ -z "$domain" ] || opts="$opts,domain=$domain"
  [ "$1" = ro ] && opts="$opts,ro"
  # The password is in this one argument for the time of the mount(2) call only (a PC in RAM).
  mount -t cifs "//$server/$share" "$STORE_MNT" -o "$opts,noserverino" 2> "$WORK/mount.err" ||
    { REFUSAL="SMB share //$server/$share could not be mounted: $(head -n 1 "$WORK/mount.err" | tr -c 'A-Za-z0-9 ._:/,()-' '_')"; return 1; }
  STORE_DIR=$STORE_MNT${subdir:+/$subdir}/$dir
  if [ "$1" = rw ]; then
    mkdir -p "$STORE_DIR" || { REFUSAL="cannot create ${subdir:+$subdir/}$dir on the share"; store_umount; return 1; }
    for left in "$STORE_DIR"/.incoming-* "$STORE_DIR"/.trash-*; do [ -e "$left" ] && rm -rf "$left"; done
  else
    [ -d "$STORE_DIR" ] || { REFUSAL="no folder ${subdir:+$subdir/}$dir on the share"; return 1; }
  fi
  log "SMB share //$server/$share mounted ($1), images in ${subdir:+$subdir/}$dir"
  return 0
}
