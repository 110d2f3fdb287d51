/** Waking machines for an action: Wake-on-LAN, RPC reboot, and the Waker facade the scheduler uses. */
export {
  buildMagicPacket, DEFAULT_WAKE_PORT, MAGIC_PACKET_LENGTH, parseWakeDestination, SecureOnPassword, udpWakeSocket,
  WakeError, WakeOnLan,
} from './wake-on-lan';
export type { WakeDestination, WakeOnLanOptions, WakeReport, WakeSocket, WakeSocketFactory } from './wake-on-lan';
export {
  DEFAULT_REBOOT_COMMENT, DEFAULT_REBOOT_DELAY_SECONDS, parseRebootComment, parseRebootDelay, RpcReboot, rpcShutdownArgs,
} from './rpc-reboot';
export type { RebootRequest, RpcRebootOptions } from './rpc-reboot';
export { DefaultWaker, parseWakeMethod, RecordingWaker, WAKE_METHODS } from './waker';
export type { DefaultWakerOptions, Rebooter, StepOutcome, WakeMethod, WakeResult, WakeTarget, Waker, WolSender } from './waker';
export {
  classifySambaOutput, execFileRunner, parseSambaCredentials, SambaCommandError, summarizeOutput, withAuthFile,
} from './samba-command';
export type { CommandOptions, CommandOutput, CommandRunner, SambaCredentials, SambaFailureKind } from './samba-command';
