/**
 * Partition types as a person names them (issue 16 item 8: never `7`, `83` or a bare GUID on a
 * page). sfdisk writes an MBR type as hex without prefix (`83`, `7`, `ef`) and a GPT type as its
 * GUID; both map to one catalog key each. An unknown type keeps its code, marked as unknown.
 */

/** Catalog suffix (`parttype.<kind>`) of the types schools' PCs carry. */
export type PartitionKind =
  | 'linux' | 'linuxSwap' | 'linuxLvm' | 'linuxRaid' | 'ntfs' | 'fat32' | 'fat16' | 'fat12' | 'extended' | 'efi'
  | 'msReserved' | 'msData' | 'winRecovery' | 'biosBoot' | 'hidden' | 'empty';

const MBR: Readonly<Record<string, PartitionKind>> = {
  '0': 'empty', '1': 'fat12', '4': 'fat16', '5': 'extended', '6': 'fat16', '7': 'ntfs', 'b': 'fat32', 'c': 'fat32', 'e': 'fat16', 'f': 'extended',
  '11': 'hidden', '12': 'hidden', '14': 'hidden', '16': 'hidden', '17': 'hidden', '1b': 'hidden', '1c': 'hidden', '1e': 'hidden', '27': 'winRecovery',
  '82': 'linuxSwap', '83': 'linux', '85': 'extended', '8e': 'linuxLvm', 'ee': 'msReserved', 'ef': 'efi', 'fd': 'linuxRaid',
};

const GPT: Readonly<Record<string, PartitionKind>> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'efi',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'msReserved',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'msData',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'winRecovery',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'linux',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'linux', // Linux root (x86-64)
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'linuxSwap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'linuxLvm',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'linuxRaid',
  '21686148-6449-6E6F-744E-656564454649': 'biosBoot',
};

/** The kind of an sfdisk type, or null when it is not one we name. */
export function partitionKind(type: string | null | undefined): PartitionKind | null {
  if (!type) return null;
  const v = type.trim();
  if (/^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/.test(v)) return GPT[v.toUpperCase()] ?? null;
  const hex = v.replace(/^0x/i, '').toLowerCase().replace(/^0+(?=.)/, '');
  return /^[0-9a-f]{1,2}$/.test(hex) ? MBR[hex] ?? null : null;
}
