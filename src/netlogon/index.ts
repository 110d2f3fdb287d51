/** Emitter preparation for domain PCs: script rendering (pure) and placement in netlogon (local or SMB). */
export {
  EMITTER_SCRIPT, emitterFiles, parseScriptActionId, parseScriptBaseUrl, parseScriptToken, parseShareDir, parseShareName,
  parseUncServer, POSTCLONE_SCRIPT, renderEmitterScript, renderPostCloneScript, renderStartupHook, STARTUP_HOOK,
} from './emitter-scripts';
export type { EmitterScriptInput, StartupHookInput } from './emitter-scripts';
export { LocalNetlogonDestination, NetlogonWriter, parseNetlogonFileName } from './netlogon-writer';
export type { CheckedFile, LocalDestinationOptions, NetlogonDestination, NetlogonFile, WrittenScripts } from './netlogon-writer';
export { SmbNetlogonDestination } from './smb-destination';
export type { SmbDestinationOptions } from './smb-destination';
export { loadNetlogonTemplates, NETLOGON_TEMPLATES, placeholdersOf, renderTemplate, TemplateError, toCrlf } from './template';
export type { NetlogonTemplateName, NetlogonTemplates } from './template';
