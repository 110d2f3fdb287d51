/**
 * What a PC whose disk was left partly written (an `incomplete` boot plan) shows at its network
 * boot, whatever the loader: French for the people in the room, ASCII only (firmware consoles and
 * menu.c32 draw with the PC's code page), no quote, '<', '>', '$' or ';' (each renderer's syntax
 * stays out of reach). The same words as the agent's DISQUE INCOMPLET banner (agent-main.sh).
 */
export const INCOMPLETE_TITLE = 'DISQUE INCOMPLET : ne pas demarrer sur ce disque';

export const INCOMPLETE_LINES: readonly string[] = [
  'Ce disque a ete ecrit en partie (restauration ou clonage interrompu).',
  'Sur la page de l action : Relancer les postes en echec.',
  'Ce PC repart alors sur le reseau de lui-meme (nouvel essai chaque minute).',
];

export const RETRY_LABEL = 'Redemarrer sur le reseau maintenant';

/** Seconds before the PC boots from the network again, to pick up a job armed meanwhile. */
export const INCOMPLETE_RETRY_SECONDS = 60;
