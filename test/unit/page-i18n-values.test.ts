/**
 * Issue 16 item 8: what pages print instead of codes — partition types by name (MBR hex and GPT
 * GUIDs), agent result codes in words (an unknown code shown as is, marked), the agent's own
 * English message marked as untranslated, server events with sizes and numbers in the reader's
 * notation, Wake-on-LAN as a translated event.
 */
import { pageI18n } from '../../src/i18n/page-i18n';
import { partitionKind } from '../../src/images/partition-types';
import { moduleTranslator } from '../../src/i18n/module-messages';

describe('values pages print in words', () => {
  const fr = pageI18n('fr');
  const en = pageI18n('en');

  test('partition types: MBR codes and GPT GUIDs named, unknown ones kept and marked', () => {
    expect(['83', '7', '0x07', 'ef', 'c', '82', '5'].map(fr.partType)).toEqual(['Linux', 'NTFS / exFAT (Windows)', 'NTFS / exFAT (Windows)', 'système EFI', 'FAT32', 'Linux (échange)', 'étendue']);
    expect(fr.partType('C12A7328-F81F-11D2-BA4B-00A0C93EC93B')).toBe('système EFI');
    expect(fr.partType('ebd0a0a2-b9e5-4433-87c0-68b6b72699c7')).toBe('données Windows');
    expect(en.partType('E3C9E316-0B5C-4DB8-817D-F92DF00215AE')).toBe('Microsoft reserved');
    expect(fr.partType('a5')).toBe('type inconnu (a5)');
    expect(fr.partType('11111111-2222-3333-4444-555555555555')).toBe('type inconnu (11111111-2222-3333-4444-555555555555)');
    expect(partitionKind('not a type')).toBeNull();
    expect(fr.partType(null)).toBe('—');
  });

  test('agent result codes in words; unknown codes shown as is, marked', () => {
    expect(fr.exitText(6)).toBe('une vérification avant écriture a échoué (table, stockage, manifeste, tailles) : rien n’a été écrit');
    expect(en.exitText('4')).toBe('the disk (or one of its partitions) is not on the PC');
    expect(fr.exitText(42)).toBe('code de sortie 42 (inconnu)');
    expect(fr.exitText(null)).toBe('');
  });

  test('result events: code in words, the agent’s message marked as untranslated', () => {
    const ref = { key: 'event.target.resultMessage', vars: { name: 'pc01', role: 'restore', from: 'running', to: 'failed', code: 7, message: 'sda1.000: sha256 mismatch' } };
    expect(fr.event({ message: 'x', ref })).toBe('pc01 (restauration) : en cours → échouée — un fichier de l’image manque ou ne correspond pas (taille ou SHA-256) : rien n’a été écrit ; ' +
      'message de l’agent, non traduit : « sda1.000: sha256 mismatch »');
    expect(fr.event({ message: 'x', ref: { key: 'event.target.result', vars: { ...ref.vars, code: 99 } } })).toContain('code de sortie 99 (inconnu)');
  });

  test('events: Wake-on-LAN translated, sizes and numbers in the reader’s notation', () => {
    expect(fr.event({ message: 'x', ref: { key: 'event.wake.sent', vars: { name: 'pc01', method: 'wol' } } })).toBe('pc01 : réveil envoyé (Wake-on-LAN)');
    expect(en.event({ message: 'x', ref: { key: 'event.wake.sent', vars: { name: 'pc01', method: 'wol+reboot' } } })).toBe('pc01: wake sent (Wake-on-LAN then remote reboot)');
    const done = { key: 'event.deploy.sessionDone', vars: { label: '1/2', bytes: 1_234_567_890, seconds: '12.5', kbps: 790123 } };
    expect(fr.event({ message: 'x', ref: done })).toBe('session multicast 1/2 terminée : 1,2 Go en 12,5 s (790\u202f123 kbit/s)');
    expect(en.event({ message: 'x', ref: done })).toBe('multicast session 1/2 done: 1.2 GB in 12.5 s (790,123 kbit/s)');
    expect(moduleTranslator('fr')('event.image.stored', { name: 'pc01', image: 'img', storedBytes: 5_500_000, partitions: 2 }))
      .toBe('pc01 : image img enregistrée sur le serveur (5,5 Mo, 2 partition(s))');
  });
});
