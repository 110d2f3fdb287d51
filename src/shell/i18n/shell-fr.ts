/**
 * French texts of the standalone shell (layout, login, home, parcs, module management, DHCP).
 * Word for word the French-only version's texts. English twin: shell-en.ts.
 */
export const shellFr = {
  'layout.server': 'Serveur pédagogique',
  'layout.logout': 'Déconnexion',
  'layout.menu': 'Menu',
  'layout.general': 'Général',
  'layout.language': 'Langue',
  'layout.languageSwitch': 'Afficher en {language}',

  'title.login': 'Connexion',
  'title.home': 'Accueil',
  'title.modules': 'Gestion des modules',
  'title.parcs': 'Parcs',
  'title.parc': 'Parc {name}',
  'title.dhcp': 'Réservations DHCP',
  'title.error': 'Erreur {status}',

  'login.login': 'Identifiant',
  'login.password': 'Mot de passe',
  'login.submit': 'Se connecter',
  'login.failed': 'Identifiant ou mot de passe incorrect.',

  'home.welcome': "Bienvenue, {name}. L'annuaire compte {count} parc(s).",
  'home.modules': 'Les modules activés ajoutent leurs pages au menu de gauche, selon vos droits.',

  'modules.module': 'Module',
  'modules.version': 'Version',
  'modules.requires': 'Dépendances',
  'modules.state': 'État',
  'modules.dhcpDescription': 'Réservations et options PXE (intégré au serveur)',
  'modules.active': 'actif',
  'modules.error': 'Erreur : {error}',
  'modules.enabled': 'activé',
  'modules.enabledFailing': 'activé, en erreur',
  'modules.disabled': 'désactivé',
  'modules.enable': 'Activer',
  'modules.disable': 'Désactiver',
  'modules.flash.enabled': 'Module {id} : activé',
  'modules.flash.disabled': 'Module {id} : désactivé',

  'parcs.parc': 'Parc',
  'parcs.machines': 'Machines',
  'parc.all': '← Tous les parcs',
  'parc.name': 'Nom',
  'parc.remarks': 'Remarques',

  'dhcp.generated': 'Configuration générée pour dnsmasq :',
  'dhcp.new': 'Nouvelle réservation',
  'dhcp.name': 'Nom',
  'dhcp.ip': 'Adresse IP',
  'dhcp.mac': 'Adresse MAC',
  'dhcp.reserve': 'Réserver',
  'dhcp.count': '{count} réservation(s)',
  'dhcp.delete': 'supprimer',
  'dhcp.flash.added': 'Réservation ajoutée : {name} {ip} {mac}',
  'dhcp.flash.removed': 'Réservation supprimée : {name}',

  'error.back': 'Retour',
  'error.home': 'Accueil',
  'error.internal': 'Erreur interne du serveur',
} as const;
