# Sourced by agent-backup.sh: store=smb, the SMB share configured on the module's
# Configuration page (docs/backup-restore.md). Once mounted, the share is a directory store like
# the storage partition (agent-dirstore.sh): images under <subdir>/<mac aa-bb-…>/<image>/.
#
# The share's account is never on the kernel command line nor in the job: the agent asks for it
# with its job token (GET …/image/smb-credentials, answered only to a running smb job), keeps the
# answer in a 0600 file of its tmpfs work dir for the time of the mount, then deletes it. The
# kernel's CIFS client (cifs.ko, pxe/initramfs/modules.list) is driven by busybox mount, which
# resolves the server name and hands the options to the kernel: no mount.cifs in the initramfs.
# Values are checked with `case` patterns (the server validated them too) and passed as one
# argument each; none may hold "," (the mount option separator) or a line break.

SMB_SUPPORTED=1

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
  STORE_MNT=$WORK/store
  mkdir -p "$STORE_MNT"
  _old=$(umask); umask 077
  http GET /image/smb-credentials "$WORK/smb.cred"
  _r=$?; umask "$_old"
  [ "$_r" = 0 ] || { rm -f "$WORK/smb.cred"; REFUSAL="no SMB share for this job (HTTP ${HTTP_STATUS:-none})"; return 1; }
  S_SERVER= S_SHARE= S_SUBDIR= S_DIR= S_USER= S_DOMAIN= S_PASS=
  while IFS= read -r _l || [ -n "$_l" ]; do
    case "$_l" in
      server=*) S_SERVER=${_l#server=} ;;
      share=*) S_SHARE=${_l#share=} ;;
      subdir=*) S_SUBDIR=${_l#subdir=} ;;
      dir=*) S_DIR=${_l#dir=} ;;
      username=*) S_USER=${_l#username=} ;;
      domain=*) S_DOMAIN=${_l#domain=} ;;
      password=*) S_PASS=${_l#password=} ;;
    esac
  done < "$WORK/smb.cred"
  rm -f "$WORK/smb.cred"
  smb_value_ok "$S_SERVER" 253 && [ -n "$S_SERVER" ] && smb_value_ok "$S_SHARE" 80 && [ -n "$S_SHARE" ] &&
    smb_value_ok "$S_SUBDIR" 200 slash && smb_value_ok "$S_USER" 64 && smb_value_ok "$S_DOMAIN" 64 &&
    case "$S_DIR" in [0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]) true ;; *) false ;; esac ||
    { REFUSAL="the SMB settings from the server are malformed"; return 1; }
  case "$S_PASS" in *,*) REFUSAL="the SMB password holds a comma"; return 1 ;; esac
  for _m in $SMB_MODULES; do modprobe "$_m" 2>/dev/null; done
  if [ -n "$S_USER" ]; then _o="username=$S_USER,password=$S_PASS"; else _o=guest; fi
  [ -z "$S_DOMAIN" ] || _o="$_o,domain=$S_DOMAIN"
  [ "$1" = ro ] && _o="$_o,ro"
  # The password is in this one argument for the time of the mount(2) call only (a PC in RAM).
  mount -t cifs "//$S_SERVER/$S_SHARE" "$STORE_MNT" -o "$_o,noserverino" 2> "$WORK/mount.err" ||
    { S_PASS= _o=; REFUSAL="SMB share //$S_SERVER/$S_SHARE could not be mounted: $(head -n 1 "$WORK/mount.err" | tr -c 'A-Za-z0-9 ._:/,()-' '_')"; return 1; }
  S_PASS= _o=
  STORE_DIR=$STORE_MNT${S_SUBDIR:+/$S_SUBDIR}/$S_DIR
  if [ "$1" = rw ]; then
    mkdir -p "$STORE_DIR" || { REFUSAL="cannot create ${S_SUBDIR:+$S_SUBDIR/}$S_DIR on the share"; store_umount; return 1; }
    for _l in "$STORE_DIR"/.incoming-* "$STORE_DIR"/.trash-*; do [ -e "$_l" ] && rm -rf "$_l"; done
  else
    [ -d "$STORE_DIR" ] || { REFUSAL="no folder ${S_SUBDIR:+$S_SUBDIR/}$S_DIR on the share"; return 1; }
  fi
  log "SMB share //$S_SERVER/$S_SHARE mounted ($1), images in ${S_SUBDIR:+$S_SUBDIR/}$S_DIR"
  return 0
}
