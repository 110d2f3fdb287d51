/** Cron rules in words (src/actions/params/cron-words.ts), French and English. */
import { cronInWords } from '../../src/actions/params/cron-words';
import { moduleTranslator } from '../../src/i18n/module-messages';

const fr = moduleTranslator('fr');
const en = moduleTranslator('en');

describe('cron rules in words', () => {
  it.each([
    ['30 18 * * 5', 'chaque vendredi à 18 h 30', 'every Friday at 18:30'],
    ['0 2 * * *', 'chaque jour à 2 h 00', 'every day at 2:00'],
    ['30 18 * * 1-5', 'du lundi au vendredi à 18 h 30', 'Monday to Friday at 18:30'],
    ['0 7 * * MON,WED,fri', 'chaque lundi, mercredi et vendredi à 7 h 00', 'every Monday, Wednesday and Friday at 7:00'],
    ['15 3 1 * *', 'le 1er de chaque mois à 3 h 15', 'on the 1st of every month at 3:15'],
    ['0 22 15 * *', 'le 15 de chaque mois à 22 h 00', 'on day 15 of every month at 22:00'],
    ['0 22 * * 0', 'chaque dimanche à 22 h 00', 'every Sunday at 22:00'],
    ['0 */2 * * *', 'selon la règle cron « 0 */2 * * * »', 'following the cron rule “0 */2 * * *”'],
  ])('%s', (cron, f, e) => {
    expect(cronInWords(cron, fr)).toBe(f);
    expect(cronInWords(cron, en)).toBe(e);
  });
});
