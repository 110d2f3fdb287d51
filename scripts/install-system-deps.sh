#!/usr/bin/env bash
# Installs the Debian packages that the test suites drive for real:
# slapd (directory tests), dnsmasq (DHCP config validation + namespace DHCP), udpcast,
# TFTP clients (tftp-hpa, atftp, curl), tftpd-hpa and nginx-light (benchmark references), samba/smbclient,
# QEMU + iPXE ROMs + pxelinux (PXE end-to-end), chromium (page tests), and the tools the
# boot environment builder unpacks (busybox-static, partclone, zstd ...).
# Boot loaders the module copies into its boot root (docs/boot.md): pxelinux + syslinux-common
# (BIOS), ipxe (undionly.kpxe, ipxe.efi, snponly.efi), shim-signed + grub-efi-amd64-signed
# (the UEFI Secure Boot chain); ovmf (UEFI firmware of the QEMU PCs), mtools (their ESP).
# Idempotent; services are not started (tests start their own on loopback / in namespaces).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  slapd ldap-utils
  dnsmasq-base
  udpcast
  tftp-hpa atftp curl tftpd-hpa nginx-light
  samba smbclient
  qemu-system-x86 ipxe-qemu qemu-utils
  pxelinux syslinux-common syslinux-utils
  ipxe shim-signed grub-efi-amd64-signed ovmf mtools
  chromium
  iproute2 iputils-ping procps psmisc cpio kmod
  busybox-static partclone zstd e2fsprogs ntfs-3g fdisk util-linux
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Package postinst scripts may have started daemons despite policy-rc.d on some images:
# our tests bind their own ports, so stop any system instance that would hold them.
for d in slapd dnsmasq in.tftpd smbd nmbd; do pkill -x "$d" 2>/dev/null || true; done
echo "system dependencies ready"
