/** Public surface of the TFTP service: the server, its file sources and the packet codec. */
export { bufferFile, type FileSource, type TftpClient, type TftpFile } from './file-source';
export { CompositeSource, DirectorySource, routes, type Route } from './directory-source';
export { TftpServer, type TftpServerOptions } from './tftp-server';
export { systemTimers, type Timers, type TimerHandle, type TransferEnd } from './read-transfer';
export { checkRequestPath, type PathCheck, type PathPolicy } from './request-path';
export { negotiateOptions, type Negotiated, type NegotiationLimits } from './options';
export * from './packet';
