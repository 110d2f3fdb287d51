/**
 * French texts of the wizard's per-PC facts (step 2) and of the image choice of a restore or
 * deploy with its compatibility check (issue 16 items 3 and 6). English twin: en-machines.ts.
 */
export const frMachines = {
  'wizard.status': 'État',
  'wizard.free': 'libre',
  'wizard.busy': 'occupé',
  'wizard.busyIn': 'occupé : {title}',
  'wizard.lastReport': 'Dernier rapport',
  'wizard.lastContact': 'Dernier contact de l’agent',
  'wizard.never': 'jamais',

  'wizard.restore.newest': 'La plus récente de chaque poste',
  'wizard.restore.own': 'Images de ces postes (chacun la sienne)',
  'wizard.restore.ownOption': '{image} ({count} poste(s) sur {total})',
  'wizard.restore.other': 'L’image d’un poste précis (serveur)',
  'wizard.restore.otherOption': '{machine} — {image} ({when}, {size})',
  'wizard.restore.hint': 'Une image d’un autre poste se lit sur le serveur. Le disque et le micrologiciel de chaque poste sont comparés à l’image avant le lancement.',
  'summary.imageOf': '{image} (image de {machine})',
  'summary.warnings': 'À vérifier avant de lancer',

  'error.restore.none': '{name} n’a aucune image valide sur le serveur',
  'error.restore.missing': '{name} n’a pas d’image valide « {image} » sur le serveur',
  'error.restore.otherStore': 'une image d’un autre poste se lit sur le serveur : choisissez le stockage « serveur »',
  'error.restore.foreign': 'cette image est celle d’un poste hors de vos parcs',

  'compat.noReport': '{name} n’a jamais envoyé de rapport : la taille de son disque n’a pas pu être comparée à l’image (lancez d’abord un rapport)',
  'compat.noDisk': '{name} n’a pas de disque {disk} d’après son dernier rapport (disques : {disks})',
  'compat.diskTooSmall': 'le disque {disk} de {name} ({diskBytes}) est plus petit que ce que demande l’image {image} ({neededBytes})',
  'compat.autoUnknown': '{name} : son dernier rapport ne dit pas quel disque une action sans disque prend, la taille n’a pas été comparée (lancez un rapport)',
  'compat.firmware': '{name} démarre en {target} alors que l’image {image} vient d’un poste {source} : il risque de ne pas redémarrer après la copie',
  'compat.table': '{name} démarre en {target} alors que l’image {image} a une table de partitions {table} : il risque de ne pas redémarrer après la copie',
};
