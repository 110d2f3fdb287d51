/** English twin of shell-fr.ts: same keys (the type enforces it), same placeholders (the parity test). */
import type { shellFr } from './shell-fr';

export const shellEn: Readonly<Record<keyof typeof shellFr, string>> = {
  'layout.server': 'School server',
  'layout.logout': 'Log out',
  'layout.menu': 'Menu',
  'layout.general': 'General',
  'layout.language': 'Language',
  'layout.languageSwitch': 'Show in {language}',

  'title.login': 'Log in',
  'title.home': 'Home',
  'title.modules': 'Modules',
  'title.parcs': 'Groups',
  'title.parc': 'Group {name}',
  'title.dhcp': 'DHCP reservations',
  'title.error': 'Error {status}',

  'login.login': 'Login',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.failed': 'Wrong login or password.',

  'home.welcome': 'Welcome, {name}. The directory holds {count} group(s).',
  'home.modules': 'Enabled modules add their pages to the menu on the left, according to your rights.',

  'modules.module': 'Module',
  'modules.version': 'Version',
  'modules.requires': 'Requires',
  'modules.state': 'State',
  'modules.dhcpDescription': 'Reservations and PXE options (built into the server)',
  'modules.active': 'active',
  'modules.error': 'Error: {error}',
  'modules.enabled': 'enabled',
  'modules.enabledFailing': 'enabled, failing',
  'modules.disabled': 'disabled',
  'modules.enable': 'Enable',
  'modules.disable': 'Disable',
  'modules.flash.enabled': 'Module {id}: enabled',
  'modules.flash.disabled': 'Module {id}: disabled',

  'parcs.parc': 'Group',
  'parcs.machines': 'Computers',
  'parc.all': '← All groups',
  'parc.name': 'Name',
  'parc.remarks': 'Remarks',

  'dhcp.generated': 'Configuration generated for dnsmasq:',
  'dhcp.new': 'New reservation',
  'dhcp.name': 'Name',
  'dhcp.ip': 'IP address',
  'dhcp.mac': 'MAC address',
  'dhcp.reserve': 'Reserve',
  'dhcp.count': '{count} reservation(s)',
  'dhcp.delete': 'delete',
  'dhcp.flash.added': 'Reservation added: {name} {ip} {mac}',
  'dhcp.flash.removed': 'Reservation removed: {name}',

  'error.back': 'Back',
  'error.home': 'Home',
  'error.internal': 'Internal server error',
};
