/**
 * French action events the server writes (action page and its live stream). Stored with their
 * key and values next to the English sentence (clonage_events.message_key/message_vars) and
 * translated when shown; values named from/to, role, stage, type are codes printed through
 * their catalog group, `at` a date (src/i18n/page-i18n.ts eventText). Events without a key (agent
 * texts, errors of other programs) stay as written.
 */
export const frEvents = {
  'event.action': 'action : {from} → {to}',
  'event.agent.firmware': '{name} : micrologiciel {firmware}, Secure Boot : {secureBoot}',
  'event.stage': '{name} : {stage}',
  'event.created': 'créée par {by} : {type} de {names}, démarrage le {at}',
  'event.createdPort': 'créée par {by} : {type} de {names}, port {port}, démarrage le {at}',
  'event.alreadyRunning': '{name} est déjà en cours : son disque n’est pas touché, il termine seul',
  'event.startNow': 'démarrage immédiat par {by} : récepteurs attendus {before} → {after}',
  'event.startNowSenderRunning':
    'démarrage immédiat par {by} : récepteurs attendus {before} → {after} (l’émetteur tourne déjà : il démarre au plus tard à l’attente maximale)',
  'event.target.fetched': '{name} ({role}) : {from} → {to} — tâche récupérée par l’agent depuis {address}',
  'event.target.result': '{name} ({role}) : {from} → {to} — code de sortie {code}',
  'event.target.resultMessage': '{name} ({role}) : {from} → {to} — code de sortie {code} : {message}',
  'event.target.preparingEmitter': '{name} ({role}) : {from} → {to} — préparation de l’émetteur',
  'event.target.waitingEmitter': '{name} ({role}) : {from} → {to} — attente de l’émetteur',
  'event.target.verifyingSource': '{name} ({role}) : {from} → {to} — le serveur vérifie l’image source',
  'event.target.cancelledDeploy': '{name} ({role}) : {from} → {to} — annulé par {by} : l’émetteur multicast est arrêté, le disque est peut-être écrit en partie',
  'event.target.armed': '{name} ({role}) : {from} → {to} — plan de démarrage armé (environnement {toolkit})',
  'event.target.notFetched':
    '{name} ({role}) : {from} → {to} — tâche non récupérée en {minutes} minutes (poste éteint ? pas de démarrage par le réseau ?)',
  'event.target.silent': '{name} ({role}) : {from} → {to} — aucune nouvelle de l’agent depuis {minutes} minutes',
  'event.target.senderFailed': '{name} ({role}) : {from} → {to} — l’émetteur a échoué',
  'event.image.storeFull': '{name} : le stockage d’images du serveur est plein ou en erreur ({error}) pendant l’écriture de {file} : la sauvegarde échoue, les images précédentes sont conservées. Libérez de la place puis relancez-la',
  'event.target.silentLast': '{name} ({role}) : {from} → {to} — aucune nouvelle de l’agent depuis {minutes} minutes ; dernier état connu : {last}',
  'event.target.dropped': '{name} ({role}) : {from} → {to} — abandonné par l’émetteur : aucune réponse pendant le transfert (éteint ? câble ?), le disque est écrit en partie',
  'event.target.cancelledReceiver': '{name} ({role}) : {from} → {to} — annulé par {by} : udpcast est arrêté, le disque est écrit en partie',
  'event.target.cancelledSender': '{name} ({role}) : {from} → {to} — annulé par {by} : udpcast est arrêté',
  'event.target.cancelledBy': '{name} ({role}) : {from} → {to} — annulé par {by}',
  'event.target.leftOut': '{name} ({role}) : {from} → {to} — écarté par {by} (démarrage immédiat)',
  'event.target.notReady': '{name} ({role}) : {from} → {to} — pas prêt au départ du multicast de la partition {n}',
  'event.target.noneReady': '{name} ({role}) : {from} → {to} — aucun récepteur prêt à temps pour la partition {n}',
  'event.target.sourceRefused': '{name} ({role}) : {from} → {to} — image source refusée : {why}',
  'event.deploy.verified': 'image source {image} vérifiée : {streams} flux de partitions, {bytes} octets',
  'event.deploy.session': 'session multicast {label} : partition {n} ({part}), {bytes} octets vers {receivers} récepteurs',
  'event.deploy.progress': 'multicast partition {n} : {percent} % ({bytes} octets, {kbps} kbit/s)',
  'event.deploy.sessionDone': 'session multicast {label} terminée : {bytes} octets en {seconds} s ({kbps} kbit/s)',
  'event.deploy.allSent': 'multicast : toutes les partitions envoyées ({sessions} sessions)',
  'event.deploy.noReceiver': 'multicast : plus aucun récepteur pour la partition {n}',
  'event.agent.wrongAddress': '{name} : appel de l’agent ({call}) refusé depuis {address}, adresse attendue {expected}',
  'event.agent.secondFetch': '{name} : seconde récupération de la tâche refusée depuis {address} (déjà récupérée depuis {first}) : le fichier de démarrage a été lu par un autre poste',
  'event.agent.bootToken': '{name} : appel de l’agent ({call}) refusé depuis {address} : jeton de démarrage sans le secret de session (le fichier de démarrage a été lu par un autre poste)',
  'event.agent.bootFile': '{name} : fichier de démarrage de la tâche demandé par {address} au lieu de {expected} ({via}) : un démarrage local a été servi',
  'event.agent.smbAgain': '{name} : le compte du partage SMB a été redemandé depuis {address} : refusé, il n’est donné qu’une fois par tâche',
  'event.agent.capReports': '{name} : limite de {limit} rapports par tâche atteinte, les suivants sont refusés',
  'event.agent.capEvents': '{name} : limite de {limit} événements par tâche atteinte, les étapes suivantes ne sont plus notées',
  'event.agent.capLog': '{name} : limite de {limit} octets de journal par tâche atteinte, la suite est refusée',
  'event.schedule.noRight': 'planification {schedule} désactivée, exécution du {at} sautée : {by} n’a plus le droit d’agir sur {parcs}',
  'event.schedule.machinesChanged': 'planification {schedule} désactivée, exécution du {at} sautée : {names} ne sont plus dans {parcs} avec la même adresse MAC et une réservation DHCP',
  'event.postclone.wrongAddress': '{name} : appel post-clonage refusé depuis {address}, adresse attendue {expected}',
  'event.postclone.joinAgain': '{name} : le compte de jonction au domaine a été redemandé depuis {address} : refusé, il n’est donné qu’une fois',
} as const;
