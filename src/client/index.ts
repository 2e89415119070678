/** arcd/client: the TypeScript SDK (ArcClient), its typed errors, and verifyWebhook. */
export { ArcClient, type ArcClientOptions, type ChatChunk, type TaskEvent } from './arcClient';
export * from './errors';
export { WebhookVerificationError, verifyWebhook } from './verifyWebhook';
