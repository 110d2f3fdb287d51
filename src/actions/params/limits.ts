/** How big an action may be, and the form parsers sized from it (a module of its own: no import cycle). */

/** Machines in one action (issue 15: a whole lycée's parc); the forms' parsers are sized from it. */
export const MAX_TARGETS = 2000;
/**
 * The wizard form's parser (http/admin/action-routes.ts): room for twice MAX_TARGETS machine
 * fields plus the parameters, so a selection past the limit reaches nameList() and gets its
 * French field error, never the parser's 413. A machine field is at most `machine=` + a 15-letter
 * name + `&` (24 bytes; 32 counted). The shell's own parser (shell/shell-app.ts FORM_LIMITS) is at least this.
 */
export const ACTION_FORM_LIMITS = { parameters: 2 * MAX_TARGETS + 100, bytes: (2 * MAX_TARGETS + 100) * 32 } as const;
